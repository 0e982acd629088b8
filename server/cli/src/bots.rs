//! `sigil bots …`: bots, their permissions and their identities in other services.

use clap::{Args, Subcommand};
use sigil_proto::api::{Bot, CreateBot, UpdateBot};
use sigil_proto::claims::near_misses;
use sigil_proto::client::Client;
use sigil_proto::names::{ServiceName, Username};
use sigil_proto::rules::check_description;
use sigil_proto::ClaimSet;
use std::collections::{BTreeMap, BTreeSet};

use crate::context::Ctx;
use crate::error::CliError;
use crate::ids;
use crate::output::{self, now};
use crate::prompt;
use crate::table::{self, Col};

/// The columns of `bots list`: the username is what the next command needs,
/// so only the description gives up width on a narrow terminal.
const LIST_COLUMNS: &[Col] = &[
    Col::whole("USERNAME"),
    Col::whole("TOKENS"),
    Col::whole("CREATED"),
    Col::cut("DESCRIPTION"),
];

/// Services offered in the `update-identity` selection besides those the
/// org's bots already use.
const COMMON_SERVICES: &[&str] = &["aws", "github", "gitlab", "google", "slack"];

#[derive(Debug, Subcommand)]
pub enum BotsCommand {
    /// Create a bot (without a name, on a terminal: asks for each field).
    #[command(after_help = "Examples:
  sigil bots create steve
  sigil bots create                  # on a terminal: asks for the name, description, permissions
  sigil bots create deployer --description \"Deploys prod\" \\
      --permission 'machines:get,list:*' --permission 'apps:get:*'
  sigil bots create notifier --identity slack=U024BE7LH -o json")]
    Create(CreateArgs),
    /// List the bots of the org, with their live token counts.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  sigil bots list\n  sigil bots list -o json | jq -r '.[].username'"
    )]
    List,
    /// Show one bot: permissions, identities, token count.
    #[command(
        visible_alias = "show",
        after_help = "Examples:\n  sigil bots view steve\n  sigil bots view 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d -o json"
    )]
    View(NameArg),
    /// Change a bot's description or permissions.
    #[command(after_help = "Examples:
  sigil bots update steve --description \"CI for the web app\"
  sigil bots update steve --permission 'machines:get:*'   # replaces the whole list")]
    Update(UpdateArgs),
    /// Delete a bot and revoke every token it holds.
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  sigil bots delete steve\n  sigil bots delete steve --yes   # no question (required without a terminal)"
    )]
    Delete(DeleteArgs),
    /// Set (or replace) a bot's identity in one service.
    #[command(after_help = "Examples:
  sigil bots update-identity steve --service slack --id U024BE7LH
  sigil bots update-identity steve   # on a terminal: pick the service, type the id")]
    UpdateIdentity(UpdateIdentityArgs),
    /// Remove a bot's identity in one service.
    #[command(after_help = "Examples:
  sigil bots delete-identity steve --service slack --yes
  sigil bots delete-identity steve   # on a terminal: pick among the bot's services")]
    DeleteIdentity(DeleteIdentityArgs),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Bot username, id, or a unique start of its id.
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Username: [a-z0-9][a-z0-9._-]{0,62}, unique in the org [left out on a terminal: a
    /// short wizard asks for it, and for the description and permissions not given].
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// What the bot is for.
    #[arg(short = 'd', long)]
    pub description: Option<String>,
    /// A claim the bot holds, `scope:action:specific` (repeatable). None: the bot can do nothing yet.
    #[arg(short = 'p', long = "permission", value_name = "CLAIM")]
    pub permissions: Vec<String>,
    /// An identity in another service, SERVICE=ID (repeatable).
    #[arg(long = "identity", value_name = "SERVICE=ID")]
    pub identities: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Bot username, id, or a unique start of its id.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// New description (an empty string clears it).
    #[arg(short = 'd', long)]
    pub description: Option<String>,
    /// The new permissions, replacing the old ones (repeatable).
    #[arg(short = 'p', long = "permission", value_name = "CLAIM")]
    pub permissions: Vec<String>,
    /// Remove every permission (the bot's tokens lose their rights at once).
    #[arg(long, conflicts_with = "permissions")]
    pub clear_permissions: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Bot username, id, or a unique start of its id.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct UpdateIdentityArgs {
    /// Bot username, id, or a unique start of its id.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The service (slack, aws, github…).
    #[arg(short = 's', long)]
    pub service: Option<String>,
    /// The bot's identity in that service (a user id, an ARN, a login).
    #[arg(long = "id", value_name = "ID")]
    pub identity: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeleteIdentityArgs {
    /// Bot username, id, or a unique start of its id.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The service whose identity to remove.
    #[arg(short = 's', long)]
    pub service: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(ctx: &Ctx, cmd: BotsCommand) -> Result<(), CliError> {
    match cmd {
        BotsCommand::Create(a) => create(ctx, a).await,
        BotsCommand::List => list(ctx).await,
        BotsCommand::View(a) => view(ctx, &a.name).await,
        BotsCommand::Update(a) => update(ctx, a).await,
        BotsCommand::Delete(a) => delete(ctx, a).await,
        BotsCommand::UpdateIdentity(a) => update_identity(ctx, a).await,
        BotsCommand::DeleteIdentity(a) => delete_identity(ctx, a).await,
    }
}

/// Parses claims given on the command line, naming the flag on error.
/// What `update --permission …` / `--clear-permissions` asks for: the new
/// permissions, or `None` to leave them (bots and users alike).
pub fn permission_change(
    clear: bool,
    permissions: &[String],
) -> Result<Option<Vec<String>>, CliError> {
    if clear {
        Ok(Some(Vec::new()))
    } else if permissions.is_empty() {
        Ok(None)
    } else {
        parse_claims("--permission", permissions).map(Some)
    }
}

/// A principal's permissions as a view shows them, one a line.
pub fn permissions_cell(permissions: &[String]) -> String {
    if permissions.is_empty() {
        "(none)".into()
    } else {
        permissions.join("\n")
    }
}

pub fn parse_claims(flag: &str, values: &[String]) -> Result<Vec<String>, CliError> {
    let set = ClaimSet::parse(values).map_err(|e| CliError::usage(format!("{flag}: {e}")))?;
    warn_near_misses(values);
    Ok(set.to_strings())
}

/// Scopes are free strings, so `bot:get:*` is a valid claim that grants
/// nothing of Sigil's: said on stderr, once per typo, and never refused.
pub fn warn_near_misses(values: &[String]) {
    let mut seen = BTreeSet::new();
    for v in values {
        for m in near_misses(v) {
            let text = m.to_string();
            if seen.insert(text.clone()) {
                output::warn(&text);
            }
        }
    }
}

fn parse_identity(raw: &str) -> Result<(String, String), CliError> {
    let Some((service, id)) = raw.split_once('=') else {
        return Err(CliError::usage(format!(
            "invalid --identity {raw:?}: expected SERVICE=ID, e.g. slack=U024BE7LH"
        )));
    };
    let service = ServiceName::parse(service).map_err(|e| CliError::usage(e.to_string()))?;
    if id.is_empty() {
        return Err(CliError::usage(format!(
            "invalid --identity {raw:?}: the id is empty"
        )));
    }
    Ok((service.to_string(), id.to_string()))
}

async fn create(ctx: &Ctx, a: CreateArgs) -> Result<(), CliError> {
    // Everything given on the command line is checked before anything is asked.
    let permissions = parse_claims("--permission", &a.permissions)?;
    let identities = a
        .identities
        .iter()
        .map(|raw| parse_identity(raw))
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let (name, description, permissions) = match a.name {
        Some(name) => (name, a.description, permissions),
        None if ctx.interactive => {
            let given = (!a.permissions.is_empty()).then_some(permissions);
            create_wizard(ctx, a.description, given)?
        }
        None => {
            return Err(prompt::missing(
                "NAME, the bot's username: e.g. `sigil bots create steve --permission 'machines:get,list:*'`",
            ))
        }
    };
    let username = Username::parse(&name).map_err(|e| CliError::usage(e.to_string()))?;
    let req = CreateBot {
        username: username.to_string(),
        description,
        permissions,
        identities,
    };
    let bot = ctx.client()?.create_bot(&ctx.org, &req).await?;
    if ctx.json() {
        return output::print_json(&bot);
    }
    output::note(&format!(
        "Created bot {} ({}) in org {}.",
        bot.username, bot.id, bot.org
    ));
    if bot.permissions.is_empty() {
        output::note(
            "It has no permissions yet: add some with `sigil bots update NAME --permission CLAIM`.",
        );
    }
    print_bot(&bot);
    Ok(())
}

/// Claims as typed on one line of the wizard: separated by spaces (a claim
/// holds commas, never a space).
fn split_claims(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

/// The `bots create` wizard: on a terminal, with no NAME, it asks for the
/// username, then the description and permissions not given as flags.
fn create_wizard(
    ctx: &Ctx,
    description: Option<String>,
    permissions: Option<Vec<String>>,
) -> Result<(String, Option<String>, Vec<String>), CliError> {
    output::note(&format!(
        "Creating a bot in org {} (Ctrl-C to stop).",
        ctx.org
    ));
    let name = prompt::input("Username", None, false, |v| {
        Username::parse(v).map(|_| ()).map_err(|e| e.to_string())
    })?;
    let description = match description {
        Some(d) => Some(d),
        None => Some(prompt::input("Description (optional)", None, true, |v| {
            check_description(v).map_err(|e| e.to_string())
        })?)
        .filter(|d| !d.is_empty()),
    };
    let permissions = match permissions {
        Some(p) => p,
        None => {
            let line = prompt::input(
                "Permissions, separated by spaces (e.g. machines:get,list:*; empty: none yet)",
                None,
                true,
                |v| {
                    ClaimSet::parse(&split_claims(v))
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
            )?;
            parse_claims("permissions", &split_claims(&line))?
        }
    };
    Ok((name, description, permissions))
}

async fn list(ctx: &Ctx) -> Result<(), CliError> {
    let bots = ctx.client()?.list_all_bots(&ctx.org).await?;
    let empty = format!(
        "No bots in org {}. Create one with `sigil bots create NAME`.",
        ctx.org
    );
    let now = now();
    table::print_list(ctx, &bots, &empty, LIST_COLUMNS, |b| {
        vec![
            b.username.clone(),
            b.token_count.to_string(),
            output::relative(b.created_at, now),
            output::or_dash(&b.description),
        ]
    })
}

/// A bot by username or id, or by a unique prefix of its id (see [`ids`]).
pub(crate) async fn resolve_bot(ctx: &Ctx, client: &Client, key: &str) -> Result<Bot, CliError> {
    ids::or_prefix(
        "bots",
        key,
        client.get_bot(&ctx.org, key).await,
        || client.list_all_bots(&ctx.org),
        |b| b.id,
        |b| b.username.clone(),
    )
    .await
}

/// What to send the server for a bot argument: the argument, or the id it
/// is the start of when it names no bot (see [`ids`]).
async fn bot_key(ctx: &Ctx, client: &Client, key: &str) -> Result<String, CliError> {
    if ids::as_prefix(key).is_none() {
        return Ok(key.to_string());
    }
    Ok(resolve_bot(ctx, client, key).await?.id.to_string())
}

async fn view(ctx: &Ctx, name: &str) -> Result<(), CliError> {
    let bot = resolve_bot(ctx, &ctx.client()?, name).await?;
    if ctx.json() {
        return output::print_json(&bot);
    }
    print_bot(&bot);
    Ok(())
}

fn print_bot(bot: &Bot) {
    let now = now();
    let permissions = permissions_cell(&bot.permissions);
    let identities = if bot.identities.is_empty() {
        "(none)".into()
    } else {
        bot.identities
            .iter()
            .map(|(s, i)| format!("{s}: {i}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    output::print_kv(&[
        ("ID", bot.id.to_string()),
        ("Username", bot.username.clone()),
        ("Org", bot.org.clone()),
        ("Description", output::or_dash(&bot.description)),
        ("Permissions", permissions),
        ("Identities", identities),
        ("Live tokens", bot.token_count.to_string()),
        ("Created", output::when(bot.created_at, now)),
        ("Updated", output::when(bot.updated_at, now)),
    ]);
}

async fn update(ctx: &Ctx, a: UpdateArgs) -> Result<(), CliError> {
    let permissions = permission_change(a.clear_permissions, &a.permissions)?;
    if a.description.is_none() && permissions.is_none() {
        return Err(CliError::usage(
            "nothing to change: pass --description, --permission or --clear-permissions",
        ));
    }
    let req = UpdateBot {
        description: a.description,
        permissions,
        ..Default::default()
    };
    let client = ctx.client()?;
    let key = bot_key(ctx, &client, &a.name).await?;
    let bot = client.update_bot(&ctx.org, &key, &req).await?;
    if ctx.json() {
        return output::print_json(&bot);
    }
    output::note(&format!("Updated bot {}.", bot.username));
    print_bot(&bot);
    Ok(())
}

async fn delete(ctx: &Ctx, a: DeleteArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    // Looking the bot up first names what is about to go, and turns a typo
    // into "not found" before any question is asked.
    let bot = resolve_bot(ctx, &client, &a.name).await?;
    let (before, after) = match bot.token_count {
        0 => (
            "it holds no live token".to_string(),
            "it held no live token".to_string(),
        ),
        1 => (
            "its 1 live token will be revoked".to_string(),
            "its 1 live token was revoked".to_string(),
        ),
        n => (
            format!("its {n} live tokens will be revoked"),
            format!("its {n} live tokens were revoked"),
        ),
    };
    prompt::confirm(
        ctx,
        a.yes,
        &format!("Delete bot {} ({before})?", bot.username),
    )?;
    client.delete_bot(&ctx.org, &bot.id.to_string()).await?;
    if ctx.json() {
        return output::print_json(&serde_json::json!({
            "id": bot.id,
            "username": bot.username,
            "deleted": true,
            "revoked_tokens": bot.token_count,
        }));
    }
    println!("Deleted bot {}; {after}.", bot.username);
    Ok(())
}

async fn update_identity(ctx: &Ctx, a: UpdateIdentityArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let service = match a.service {
        Some(s) => s,
        None if ctx.interactive => {
            // The services the org's bots already use, then common ones, then "other".
            let mut known: BTreeSet<String> = client
                .list_all_bots(&ctx.org)
                .await?
                .into_iter()
                .flat_map(|b| b.identities.into_keys())
                .collect();
            known.extend(COMMON_SERVICES.iter().map(|s| s.to_string()));
            let mut items: Vec<String> = known.into_iter().collect();
            items.push("other…".into());
            let i = prompt::select("Service", &items, 0)?;
            if i + 1 == items.len() {
                prompt::input("Service name", None, false, |v| {
                    ServiceName::parse(v).map(|_| ()).map_err(|e| e.to_string())
                })?
            } else {
                items[i].clone()
            }
        }
        None => return Err(prompt::missing("--service SERVICE (e.g. --service slack)")),
    };
    let service = ServiceName::parse(&service).map_err(|e| CliError::usage(e.to_string()))?;
    let identity = match a.identity {
        Some(i) => i,
        None if ctx.interactive => prompt::input(
            &format!("Identity of {} in {service}", a.name),
            None,
            false,
            |v| {
                if v.is_empty() {
                    Err("the identity cannot be empty".into())
                } else {
                    Ok(())
                }
            },
        )?,
        None => {
            return Err(prompt::missing(
                "--id ID (the bot's identity in that service)",
            ))
        }
    };
    if identity.trim().is_empty() {
        return Err(CliError::usage(
            "invalid --id: the identity cannot be empty",
        ));
    }
    let key = bot_key(ctx, &client, &a.name).await?;
    let bot = client
        .put_identity(&ctx.org, &key, service.as_str(), identity.trim())
        .await?;
    if ctx.json() {
        return output::print_json(&bot);
    }
    println!(
        "Set the {service} identity of bot {} to {}.",
        bot.username,
        identity.trim()
    );
    Ok(())
}

async fn delete_identity(ctx: &Ctx, a: DeleteIdentityArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let service = match a.service {
        Some(s) => s,
        None if ctx.interactive => {
            let bot = resolve_bot(ctx, &client, &a.name).await?;
            let items: Vec<String> = bot.identities.keys().cloned().collect();
            if items.is_empty() {
                return Err(CliError::failed(format!(
                    "bot {} has no identities",
                    bot.username
                )));
            }
            let i = prompt::select("Service", &items, 0)?;
            items[i].clone()
        }
        None => return Err(prompt::missing("--service SERVICE")),
    };
    let service = ServiceName::parse(&service).map_err(|e| CliError::usage(e.to_string()))?;
    prompt::confirm(
        ctx,
        a.yes,
        &format!("Remove the {service} identity of bot {}?", a.name),
    )?;
    let key = bot_key(ctx, &client, &a.name).await?;
    let bot = client
        .delete_identity(&ctx.org, &key, service.as_str())
        .await?;
    if ctx.json() {
        return output::print_json(&bot);
    }
    println!("Removed the {service} identity of bot {}.", bot.username);
    Ok(())
}
