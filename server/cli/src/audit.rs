//! `sigil audit …`: the org's audit log, and the check of its hash chain.

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, now};
use crate::table::{self, Col};

/// The columns of `audit list`: the action and target are what one scans for.
const LIST_COLUMNS: &[Col] = &[
    Col::whole("SEQ"),
    Col::whole("WHEN"),
    Col::cut("ACTOR"),
    Col::whole("ACTION"),
    Col::cut("TARGET"),
];

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the org's audit log, oldest first.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  sigil audit list\n  sigil audit list --last 20\n  sigil audit list -o json | jq '.[] | select(.action == \"token.revoke\")'"
    )]
    List(ListArgs),
    /// Recompute the org's audit hash chain; exits 1 when an entry does not match.
    #[command(
        after_help = "Examples:\n  sigil audit verify\n  sigil audit verify -o json\n  \
sigil audit verify --head 5f0c…(64 hex digits) --entries 42   # an earlier answer, kept elsewhere"
    )]
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The head of an earlier verification, kept outside Sigil: the chain must still pass
    /// through it (a cut tail or a rewritten chain no longer does).
    #[arg(long, value_name = "HASH")]
    pub head: Option<String>,
    /// The entry count of an earlier verification: fewer entries now names those gone since.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
    pub entries: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the last N entries.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
}

pub async fn run(ctx: &Ctx, cmd: AuditCommand) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        AuditCommand::List(a) => {
            let mut entries = client.list_all_audit(&ctx.org).await?;
            if let Some(n) = a.last {
                entries.drain(..entries.len().saturating_sub(n));
            }
            let empty = format!("No audit entries in org {}.", ctx.org);
            let now = now();
            table::print_list(ctx, &entries, &empty, LIST_COLUMNS, |e| {
                vec![
                    e.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                    output::relative(e.created_at, now),
                    e.actor.clone(),
                    e.action.clone(),
                    e.target_id.clone().unwrap_or_default(),
                ]
            })
        }
        AuditCommand::Verify(a) => {
            let q = sigil_proto::api::AuditVerifyQuery {
                head: a.head,
                entries: a.entries,
            };
            let v = client.verify_audit(&ctx.org, &q).await?;
            if ctx.json() {
                output::print_json(&v)?;
            } else if v.ok {
                println!(
                    "The audit chain of org {} is intact: {} {}, head {}.",
                    ctx.org,
                    v.entries,
                    if v.entries == 1 { "entry" } else { "entries" },
                    v.head.as_deref().unwrap_or("(empty)")
                );
            }
            if v.ok {
                return Ok(());
            }
            let at = match &v.entry {
                Some(e) => format!(
                    " at entry {} ({} {} by {}, id {})",
                    v.seq.unwrap_or_default(),
                    e.action,
                    e.target_id.as_deref().unwrap_or("-"),
                    e.actor,
                    e.id
                ),
                None => format!(" after entry {}", v.entries),
            };
            Err(CliError::failed(format!(
                "the audit chain of org {} is broken{at}: {}; {} entries before it match",
                ctx.org,
                v.reason.as_deref().unwrap_or("mismatch"),
                v.entries
            )))
        }
    }
}
