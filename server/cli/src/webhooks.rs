//! `sigil webhooks …`: an org's webhooks, their delivery log, and a test send.
//!
//! The signing secret is answered once, by `create`: it goes alone to stdout
//! (so `SECRET=$(sigil webhooks create …)` works), with a warning on stderr
//! that it cannot be shown again. No other command prints it, because the
//! server never answers it again. URLs and event types are checked here with
//! `sigil-proto`'s rules before any call, in the server's own words.
//!
//! Webhooks have no names: a command takes an id, or a unique start of one
//! (as `sigil webhooks view 0196f3c2`, see [`crate::ids`]).

use clap::{Args, Subcommand};
use sigil_proto::api::{CreateWebhook, Delivery, ListQuery, UpdateWebhook, Webhook};
use sigil_proto::client::Client;
use sigil_proto::rules::{
    check_description, check_events, check_webhook_secret, check_webhook_url, RuleError,
};
use sigil_proto::SecretString;
use std::io::{IsTerminal, Read};
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::CliError;
use crate::ids;
use crate::output::{self, now};
use crate::prompt;
use crate::table::{self, Col, Fit};

/// The columns of `webhooks list`: the id is what the next command needs.
const LIST_COLUMNS: &[Col] = &[
    Col::whole("ID"),
    Col::cut("URL"),
    Col {
        header: "EVENTS",
        fit: Fit::List,
    },
    Col::cut("DESCRIPTION"),
];

/// The columns of `webhooks deliveries`: one row per attempt.
const DELIVERY_COLUMNS: &[Col] = &[
    Col::whole("WHEN"),
    Col::whole("EVENT"),
    Col::whole("ATTEMPT"),
    Col::whole("RESULT"),
    Col::whole("STATUS"),
    Col::whole("DURATION"),
    Col::cut("ERROR"),
];

/// The most attempts one `deliveries` call asks for (one page).
const MAX_DELIVERIES: u32 = 200;

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Create a webhook and print its signing secret, once.
    #[command(after_help = "Examples:
  sigil webhooks create https://hooks.example.com/sigil
  sigil webhooks create https://hooks.example.com/sigil --event token.expiring --event token.leaked
  SECRET=$(sigil webhooks create https://ci.example.com/hook --description \"CI trigger\")
  openssl rand -hex 32 | sigil webhooks create https://hooks.example.com/sigil --secret-stdin
  sigil webhooks create https://hooks.example.com/sigil -o json   # the secret is in .secret")]
    Create(CreateArgs),
    /// List the org's webhooks (never their secrets).
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  sigil webhooks list\n  sigil webhooks list -o json | jq -r '.[].url'"
    )]
    List,
    /// Show one webhook.
    #[command(
        visible_alias = "show",
        after_help = "Examples:\n  sigil webhooks view 0196f3c2       # a unique start of the id is enough\n  sigil webhooks view 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d -o json"
    )]
    View(IdArg),
    /// Change a webhook's URL, events, description or signing secret.
    #[command(after_help = "Examples:
  sigil webhooks update 0196f3c2 --url https://hooks.example.com/v2
  openssl rand -hex 32 | sigil webhooks update 0196f3c2 --secret-stdin         # a new secret, at once
  sigil webhooks update 0196f3c2 --event token.expiring --event token.expired   # replaces the list
  sigil webhooks update 0196f3c2 --description \"\"                              # clears it")]
    Update(UpdateArgs),
    /// Delete a webhook: it receives nothing more.
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  sigil webhooks delete 0196f3c2\n  sigil webhooks delete 0196f3c2 --yes   # no question (required without a terminal)"
    )]
    Delete(DeleteArgs),
    /// Show the delivery log of a webhook: every attempt, newest first.
    #[command(after_help = "Examples:
  sigil webhooks deliveries 0196f3c2
  sigil webhooks deliveries 0196f3c2 --last 5
  sigil webhooks deliveries 0196f3c2 -o json | jq '.[] | select(.result != \"delivered\")'")]
    Deliveries(DeliveriesArgs),
    /// Send a `webhook.test` event now; exits 1 when it was not delivered.
    #[command(after_help = "Examples:
  sigil webhooks test 0196f3c2
  sigil webhooks test 0196f3c2 -o json")]
    Test(IdArg),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Where events are POSTed: an http:// or https:// URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// An event type to send (repeatable, or comma-separated); `*` for all, the default.
    #[arg(long = "event", value_name = "EVENT", value_delimiter = ',')]
    pub events: Vec<String>,
    /// Free text, at most 1024 characters.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Read the signing secret (16–256 characters) from stdin instead of having one generated.
    #[arg(long)]
    pub secret_stdin: bool,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// Webhook id, or a unique start of it.
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Webhook id, or a unique start of it.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The new URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The event types to send (repeatable, or comma-separated), replacing the list; `*` for all.
    #[arg(long = "event", value_name = "EVENT", value_delimiter = ',')]
    pub events: Vec<String>,
    /// The new description; an empty one clears it.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Read a new signing secret (16–256 characters) from stdin; it replaces the current one at once.
    #[arg(long)]
    pub secret_stdin: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Webhook id, or a unique start of it.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Webhook id, or a unique start of it.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Only the last N attempts (at most 200).
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DELIVERIES)))]
    pub last: u32,
}

pub async fn run(ctx: &Ctx, cmd: WebhooksCommand) -> Result<(), CliError> {
    match cmd {
        WebhooksCommand::Create(a) => create(ctx, a).await,
        WebhooksCommand::List => {
            let hooks = ctx.client()?.list_all_webhooks(&ctx.org).await?;
            let empty = format!(
                "No webhooks in org {}. Create one with `sigil webhooks create URL`.",
                ctx.org
            );
            table::print_list(ctx, &hooks, &empty, LIST_COLUMNS, |w| {
                vec![
                    w.id.to_string(),
                    w.url.clone(),
                    w.events.join(" "),
                    output::or_dash(w.description.as_deref().unwrap_or("")),
                ]
            })
        }
        WebhooksCommand::View(a) => {
            let client = ctx.client()?;
            let hook = resolve(&client, &ctx.org, &a.id).await?;
            if ctx.json() {
                return output::print_json(&hook);
            }
            print_webhook(&hook);
            Ok(())
        }
        WebhooksCommand::Update(a) => update(ctx, a).await,
        WebhooksCommand::Delete(a) => {
            let client = ctx.client()?;
            let hook = resolve(&client, &ctx.org, &a.id).await?;
            prompt::confirm(
                ctx,
                a.yes,
                &format!(
                    "Delete webhook {} ({})? It receives no more events.",
                    hook.id, hook.url
                ),
            )?;
            client.delete_webhook(&ctx.org, hook.id).await?;
            if ctx.json() {
                return output::print_json(
                    &serde_json::json!({"id": hook.id, "url": hook.url, "deleted": true}),
                );
            }
            println!("Deleted webhook {} ({}).", hook.id, hook.url);
            Ok(())
        }
        WebhooksCommand::Deliveries(a) => {
            let client = ctx.client()?;
            let hook = resolve(&client, &ctx.org, &a.id).await?;
            let q = ListQuery {
                cursor: None,
                limit: Some(a.last),
            };
            let page = client.list_deliveries(&ctx.org, hook.id, &q).await?;
            let empty = format!(
                "No deliveries to webhook {} yet. Send one with `sigil webhooks test {}`.",
                hook.id, hook.id
            );
            let now = now();
            table::print_list(ctx, &page.items, &empty, DELIVERY_COLUMNS, |d| {
                vec![
                    output::relative(d.attempted_at, now),
                    d.event_type.clone(),
                    d.attempt.to_string(),
                    d.result.clone(),
                    d.status_code
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    millis(d.duration_ms),
                    output::or_dash(d.error.as_deref().unwrap_or("")),
                ]
            })
        }
        WebhooksCommand::Test(a) => {
            let client = ctx.client()?;
            let hook = resolve(&client, &ctx.org, &a.id).await?;
            let d = client.test_webhook(&ctx.org, hook.id).await?;
            if ctx.json() {
                output::print_json(&d)?;
            } else if d.result == "delivered" {
                println!(
                    "Delivered a webhook.test event to {}: HTTP {} in {}.",
                    hook.url,
                    d.status_code
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    millis(d.duration_ms)
                );
            }
            if d.result == "delivered" {
                return Ok(());
            }
            Err(CliError::failed(not_delivered(&hook, &d)))
        }
    }
}

/// A rule broken by the command line: a usage error (exit 2), before any call.
fn usage(e: RuleError) -> CliError {
    CliError::usage(e.to_string())
}

/// Checks `--event` and `--description` as create and update take them: no
/// events means "leave the server's choice" (None), not an empty list.
fn checked_events_and_description(
    events: &[String],
    description: Option<&str>,
) -> Result<Option<Vec<String>>, CliError> {
    let events = if events.is_empty() {
        None
    } else {
        Some(check_events(events).map_err(usage)?)
    };
    if let Some(d) = description {
        check_description(d).map_err(usage)?;
    }
    Ok(events)
}

async fn create(ctx: &Ctx, a: CreateArgs) -> Result<(), CliError> {
    check_webhook_url(&a.url).map_err(usage)?;
    let events = checked_events_and_description(&a.events, a.description.as_deref())?;
    let secret = a.secret_stdin.then(read_secret).transpose()?;
    let req = CreateWebhook {
        url: a.url,
        events,
        description: a.description,
        secret,
    };
    let created = ctx.client()?.create_webhook(&ctx.org, &req).await?;
    if ctx.json() {
        output::print_json(&created)?;
    } else {
        // The secret alone on stdout, for `SECRET=$(…)`; the rest on stderr.
        println!("{}", created.secret.expose());
    }
    let w = &created.webhook;
    output::note(&format!(
        "Created webhook {} in org {}: {} gets {}.",
        w.id,
        w.org,
        w.url,
        events_phrase(&w.events)
    ));
    output::warn("copy the signing secret now: it is shown only this once.");
    Ok(())
}

async fn update(ctx: &Ctx, a: UpdateArgs) -> Result<(), CliError> {
    if a.url.is_none() && a.events.is_empty() && a.description.is_none() && !a.secret_stdin {
        return Err(CliError::usage(
            "nothing to change: pass --url, --event, --description or --secret-stdin",
        ));
    }
    if let Some(u) = &a.url {
        check_webhook_url(u).map_err(usage)?;
    }
    let events = checked_events_and_description(&a.events, a.description.as_deref())?;
    let client = ctx.client()?;
    let hook = resolve(&client, &ctx.org, &a.id).await?;
    let secret = a.secret_stdin.then(read_secret).transpose()?;
    let req = UpdateWebhook {
        url: a.url,
        events,
        description: a.description,
        secret,
    };
    let hook = client.update_webhook(&ctx.org, hook.id, &req).await?;
    if ctx.json() {
        return output::print_json(&hook);
    }
    println!("Updated webhook {}.", hook.id);
    print_webhook(&hook);
    Ok(())
}

/// The secret of `--secret-stdin`, checked by the server's rule.
fn read_secret() -> Result<SecretString, CliError> {
    let s = read_secret_text()?;
    check_webhook_secret(s.expose()).map_err(usage)?;
    Ok(s)
}

/// Asked for unechoed on a terminal, else the whole of stdin less its line end.
fn read_secret_text() -> Result<SecretString, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return prompt::password("Signing secret (16–256 characters)").map(SecretString::new);
    }
    let mut s = String::new();
    stdin
        .lock()
        .read_to_string(&mut s)
        .map_err(|e| CliError::failed(format!("cannot read the secret from stdin: {e}")))?;
    let s = s.trim_end_matches(['\r', '\n']);
    if s.is_empty() {
        return Err(CliError::usage(
            "no secret: --secret-stdin read nothing from stdin",
        ));
    }
    Ok(SecretString::new(s))
}

/// The webhook `key` names: a whole id, or a unique start of one.
async fn resolve(client: &Client, org: &str, key: &str) -> Result<Webhook, CliError> {
    if let Ok(id) = Uuid::parse_str(key.trim()) {
        return Ok(client.get_webhook(org, id).await?);
    }
    let Some(prefix) = ids::as_prefix(key) else {
        return Err(CliError::usage(format!(
            "{key:?} is not a webhook id: give its id, or at least {} hex digits of it \
             (see `sigil webhooks list`)",
            ids::MIN_PREFIX
        )));
    };
    let hooks = client.list_all_webhooks(org).await?;
    match ids::pick("webhooks", key, &prefix, hooks, |w| w.id, |w| w.url.clone())? {
        Some(w) => Ok(w),
        None => Err(CliError::failed(format!(
            "no webhook id starts with {key:?} in org {org}"
        ))),
    }
}

fn print_webhook(w: &Webhook) {
    let now = now();
    output::print_kv(&[
        ("ID", w.id.to_string()),
        ("Org", w.org.clone()),
        ("URL", w.url.clone()),
        ("Events", w.events.join(", ")),
        (
            "Description",
            output::or_dash(w.description.as_deref().unwrap_or("")),
        ),
        ("Created", output::when(w.created_at, now)),
        ("Updated", output::when(w.updated_at, now)),
    ]);
}

/// What a webhook gets, in words: `every event (*)` or `a, b`.
fn events_phrase(events: &[String]) -> String {
    if events.iter().any(|e| e == "*") {
        "every event (*)".into()
    } else {
        events.join(", ")
    }
}

/// `12ms`, `1.5s`.
fn millis(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms}ms")
    } else {
        format!("{}.{}s", ms / 1_000, (ms % 1_000) / 100)
    }
}

/// Why a test event did not arrive, and when it is tried again.
fn not_delivered(w: &Webhook, d: &Delivery) -> String {
    let why = match (d.status_code, d.error.as_deref()) {
        (Some(s), Some(e)) => format!("HTTP {s}: {e}"),
        (Some(s), None) => format!("HTTP {s}"),
        (None, Some(e)) => e.to_string(),
        (None, None) => d.result.clone(),
    };
    let next = d
        .next_attempt_at
        .map(|t| format!("; the next attempt is {}", output::relative(t, now())))
        .unwrap_or_default();
    format!(
        "the test event was not delivered to {} ({why}, after {}){next}",
        w.url,
        millis(d.duration_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::TestCli;
    use clap::Parser;

    #[test]
    fn events_repeat_or_split_on_commas() {
        let cli = TestCli::try_parse_from([
            "sigil",
            "webhooks",
            "create",
            "https://h.example.com/x",
            "--event",
            "token.issued,token.revoked",
            "--event",
            "key.rotated",
        ])
        .unwrap();
        let crate::Command::Webhooks(WebhooksCommand::Create(a)) = cli.command else {
            panic!("not webhooks create");
        };
        assert_eq!(a.events, ["token.issued", "token.revoked", "key.rotated"]);
        assert!(!a.secret_stdin);
    }

    #[test]
    fn deliveries_last_is_bounded() {
        let parse = |n: &str| {
            TestCli::try_parse_from(["sigil", "webhooks", "deliveries", "0196", "--last", n])
        };
        assert!(parse("200").is_ok());
        assert!(parse("0").is_err());
        assert!(parse("201").is_err());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(millis(7), "7ms");
        assert_eq!(millis(999), "999ms");
        assert_eq!(millis(1_540), "1.5s");
        assert_eq!(millis(10_000), "10.0s");
    }
}
