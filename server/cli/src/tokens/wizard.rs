//! The `tokens issue` wizard: on a terminal, with no `--username`, it asks
//! for the bot (picked from the org's bots), the expiry and a label; what was
//! given on the command line is not asked again.

use sigil_proto::client::Client;
use sigil_proto::names::Username;

use super::args::parse_expiry;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output;
use crate::prompt;

/// Expiry the wizard proposes; the server's default lifetime applies when
/// `-e` is left out on the command line.
const WIZARD_DEFAULT_EXPIRY: &str = "90d";

/// Asks for what `tokens issue` needs and was not given.
pub(super) async fn wizard(
    ctx: &Ctx,
    client: &Client,
    expiry: Option<String>,
    label: Option<String>,
) -> Result<(String, Option<String>, Option<String>), CliError> {
    output::note(&format!(
        "Issuing a token in org {} (Ctrl-C to stop).",
        ctx.org
    ));
    let bots = client.list_all_bots(&ctx.org).await?;
    let owner = if bots.is_empty() {
        prompt::input("Bot username", None, false, |v| {
            Username::parse(v).map(|_| ()).map_err(|e| e.to_string())
        })?
    } else {
        let items: Vec<String> = bots
            .iter()
            .map(|b| {
                if b.description.is_empty() {
                    b.username.clone()
                } else {
                    format!("{} — {}", b.username, b.description)
                }
            })
            .collect();
        let i = prompt::select("Bot", &items, 0)?;
        bots[i].username.clone()
    };
    let expiry = match expiry {
        Some(e) => Some(e),
        None => Some(prompt::input(
            "Expiry (e.g. 100d, 36h, 1y)",
            Some(WIZARD_DEFAULT_EXPIRY),
            false,
            |v| parse_expiry(v).map(|_| ()).map_err(|e| e.to_string()),
        )?),
    };
    let label = match label {
        Some(l) => Some(l),
        None => Some(prompt::input("Label (optional)", None, true, |_| Ok(()))?),
    };
    Ok((owner, expiry, label))
}
