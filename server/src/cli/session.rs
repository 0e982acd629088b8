//! `sigil login`, `sigil logout` and `sigil whoami`: who the CLI speaks as.

use clap::Args;
use sigil_proto::SecretString;
use std::io::{IsTerminal, Read};

use super::context::{self, Ctx, StoredLogin};
use super::error::CliError;
use super::output::{self, now};
use super::prompt;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sigil login --endpoint https://sigil.example.com          # asks for the token
  sigil login --endpoint http://127.0.0.1:8080 < token.txt  # reads it from stdin
  SIGIL_TOKEN=\"$TOKEN\" sigil login --endpoint https://sigil.example.com --org acme

The endpoint, the token and the org (given, or the token's own) are stored in
<config dir>/sigil/login.json with mode 0600 and used when neither flags nor
SIGIL_ENDPOINT/SIGIL_TOKEN/SIGIL_ORG say otherwise. The stored token is only
ever sent to the stored endpoint.")]
pub struct LoginArgs {}

pub async fn login(ctx: &Ctx, _args: LoginArgs) -> Result<(), CliError> {
    let mut endpoint = ctx.endpoint.clone();
    if !ctx.endpoint_explicit && ctx.interactive {
        endpoint = prompt::input("Sigil endpoint", Some(&endpoint), false, |v| {
            if v.starts_with("http://") || v.starts_with("https://") {
                Ok(())
            } else {
                Err("expected a URL such as https://sigil.example.com".into())
            }
        })?
        .trim_end_matches('/')
        .to_string();
    }
    let token = match ctx.token().filter(|_| ctx.token_explicit) {
        Some(t) => t.clone(),
        None if !std::io::stdin().is_terminal() => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| CliError::failed(format!("cannot read the token from stdin: {e}")))?;
            let s = s.trim();
            if s.is_empty() {
                return Err(CliError::usage(
                    "no token: pass --token, set SIGIL_TOKEN or pipe the token on stdin",
                ));
            }
            SecretString::new(s)
        }
        None => SecretString::new(prompt::password("Token")?),
    };
    let client = sigil_proto::client::Client::new(&endpoint, Some(token.clone()))?;
    let me = client.whoami().await?;
    let org = if ctx.org_explicit {
        ctx.org.clone()
    } else {
        me.org.clone()
    };
    let path = context::save_login(&StoredLogin {
        endpoint: endpoint.clone(),
        token,
        org: Some(org.clone()),
    })?;
    if ctx.json() {
        return output::print_json(&serde_json::json!({
            "endpoint": endpoint,
            "org": org,
            "name": me.name,
            "kind": me.kind,
            "token_id": me.token_id,
            "expires_at": me.expires_at.format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| CliError::failed(e.to_string()))?,
            "path": path,
        }));
    }
    println!(
        "Logged in to {endpoint} as {} ({}), org {org}.",
        me.name, me.kind
    );
    output::note(&format!(
        "Saved to {} (mode 0600). The token expires {}.",
        path.display(),
        output::when(me.expires_at, now())
    ));
    Ok(())
}

pub fn logout(ctx: &Ctx) -> Result<(), CliError> {
    let removed = context::remove_login()?;
    if ctx.json() {
        return output::print_json(&serde_json::json!({ "removed": removed }));
    }
    match removed {
        Some(p) => println!("Removed {}.", p.display()),
        None => println!("Not logged in: nothing to remove."),
    }
    Ok(())
}

pub async fn whoami(ctx: &Ctx) -> Result<(), CliError> {
    let me = ctx.client()?.whoami().await?;
    if ctx.json() {
        return output::print_json(&me);
    }
    let now = now();
    output::print_kv(&[
        ("Name", format!("{} ({})", me.name, me.kind)),
        ("ID", me.id.to_string()),
        ("Org", me.org.clone()),
        ("App", me.app.clone().unwrap_or_else(|| "-".into())),
        ("Endpoint", ctx.endpoint.clone()),
        ("Token", me.token_id.to_string()),
        ("Expires", output::when(me.expires_at, now)),
        (
            "Claims",
            if me.claims.is_empty() {
                "(none)".into()
            } else {
                me.claims.join("\n")
            },
        ),
    ]);
    Ok(())
}
