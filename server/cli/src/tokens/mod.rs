//! `sigil tokens …`: issue, list, view, update and revoke tokens; derive a
//! narrower one (`attenuate`); report leaked ones (`report-leak`).
//!
//! # Layout
//! - [`args`]: the flags of every `tokens` command (re-exported here), and the
//!   local checks of `--cidr`, `--max-uses`, `--status`, `--expiring-within`.
//! - [`scope`]: `--scope`/`--allow`, as coder spells them, compiled into claims.
//! - [`wizard`]: what `tokens issue` asks on a terminal when `-u` is missing.
//! - [`columns`]: the columns of `tokens list`, printed by [`crate::table`].
//! - [`resolve`]: which token an argument names (an id, a pasted JWT, a label).
//! - [`attenuate`]: `tokens attenuate`, a child of the calling token.
//! - [`leak`]: `tokens report-leak`, anonymous, stdin in batches.
//! - this module: the commands themselves, each a few calls to the above and
//!   one to the server.

pub mod args;
pub mod attenuate;
pub mod columns;
pub mod leak;
pub mod resolve;
pub mod scope;
pub mod wizard;

pub use args::{
    AttenuateArgs, BindingArgs, IssueArgs, ListArgs, ReportLeakArgs, RevokeArgs, ScopeFilter,
    TokensCommand, UpdateArgs, ViewArgs,
};
pub use scope::build_claims;

use sigil_proto::api::{IssueToken, IssuedToken, Token, TokenFilter, UpdateToken};
use sigil_proto::duration::Expiry;
use uuid::Uuid;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, now};
use crate::prompt;
use crate::table;
use args::{parse_binding, parse_expiring_within, parse_expiry, parse_statuses};
use columns::{parse_columns, render_list, Column, DEFAULT_COLUMNS};
use resolve::resolve;
use wizard::wizard;

pub async fn run(ctx: &Ctx, cmd: TokensCommand) -> Result<(), CliError> {
    match cmd {
        TokensCommand::Issue(a) => issue(ctx, a).await,
        TokensCommand::List(a) => list(ctx, a).await,
        TokensCommand::View(a) => view(ctx, a).await,
        TokensCommand::Update(a) => update(ctx, a).await,
        TokensCommand::Revoke(a) => revoke(ctx, a).await,
        TokensCommand::Attenuate(a) => attenuate::attenuate(ctx, a).await,
        TokensCommand::ReportLeak(a) => leak::report_leak(ctx, a).await,
    }
}

// ---- issue ----

/// Whether `tokens issue` was given nothing but (maybe) global flags: on a
/// terminal that runs the wizard; any flag of its own without `-u` issues for
/// the caller, as `coder tokens create` does.
fn no_flags(a: &IssueArgs) -> bool {
    a.username.is_none()
        && a.expiry.is_none()
        && a.label.is_none()
        && a.claims.is_empty()
        && a.scopes.is_empty()
        && a.allows.is_empty()
        && a.app.is_none()
        && a.binding.cidrs.is_empty()
        && a.binding.max_uses.is_none()
}

pub(crate) async fn issue(ctx: &Ctx, a: IssueArgs) -> Result<(), CliError> {
    // Everything given on the command line is checked before anything is asked.
    let claims = build_claims(&a.claims, &a.scopes, &a.allows)?;
    let (allowed_cidrs, max_uses) = parse_binding(&a.binding)?;
    if let Some(e) = &a.expiry {
        parse_expiry(e)?;
    }
    let bare = no_flags(&a);
    let client = ctx.client()?;
    let (owner, expiry, label) = match a.username {
        Some(u) => (u, a.expiry, a.label),
        None if bare && ctx.interactive => wizard(ctx, &client, a.expiry, a.label).await?,
        None if bare => return Err(prompt::missing(
            "--username (-u): the bot the token is for, e.g. `sigil tokens issue -u steve -e 100d` \
             (with other flags and no -u, the token is for yourself: `sigil tokens issue -e 8h`)",
        )),
        // The caller, as the server knows it: a user's email or a bot's name.
        None => (client.whoami().await?.name, a.expiry, a.label),
    };
    let mut req = IssueToken {
        owner,
        label: label.filter(|l| !l.is_empty()),
        app: a.app,
        claims,
        allowed_cidrs,
        max_uses,
        ..Default::default()
    };
    match expiry.as_deref().map(parse_expiry).transpose()? {
        Some(Expiry::In(_)) => req.expiry = expiry.map(|e| e.trim().to_string()),
        Some(Expiry::At(_)) => req.expires_at = expiry.map(|e| e.trim().to_string()),
        None => {}
    }
    // One key per invocation: should the answer be lost and the call be
    // retried, the server answers the same token instead of minting a second.
    let key = Uuid::new_v4().to_string();
    let issued = client.issue_token(&ctx.org, &req, Some(&key)).await?;
    print_issued(ctx, &issued)
}

/// The JWT of `issue` and `attenuate`, once; what was issued, on stderr.
fn print_issued(ctx: &Ctx, issued: &IssuedToken) -> Result<(), CliError> {
    let t = &issued.metadata;
    if ctx.json() {
        output::print_json(issued)?;
    } else {
        // The JWT alone on stdout, so `TOKEN=$(sigil tokens issue …)` works;
        // everything for people goes to stderr, which never sees the JWT.
        println!("{}", issued.token.expose());
    }
    let label = t
        .label
        .as_deref()
        .map(|l| format!(" \"{l}\""))
        .unwrap_or_default();
    let derived = match t.parent_id {
        Some(p) => format!("Derived token {}{label} from token {p}", t.id),
        None => format!("Issued token {}{label}", t.id),
    };
    output::note(&format!(
        "{derived} for {} (expires {}).",
        t.owner,
        output::when(t.expires_at, now())
    ));
    if let Some(p) = t.parent_id {
        // Its own line, for scripts that read stderr.
        output::note(&format!("parent: {p}"));
    }
    output::warn("copy the token now: it cannot be shown again.");
    Ok(())
}

// ---- list ----

async fn list(ctx: &Ctx, a: ListArgs) -> Result<(), CliError> {
    let chosen = parse_columns(&a.columns)?;
    let status = parse_statuses(&a.status)?;
    let expiring_within = a
        .expiring_within
        .as_deref()
        .map(parse_expiring_within)
        .transpose()?;
    let client = ctx.client()?;
    // An id as given; a label or a pasted JWT names its token.
    let parent = match a.parent.as_deref().map(str::trim) {
        None => None,
        Some(p) => match Uuid::parse_str(p) {
            Ok(id) => Some(id.to_string()),
            Err(_) => Some(resolve(ctx, &client, p).await?.id.to_string()),
        },
    };
    let filter = TokenFilter {
        owner: a.username,
        app: a.app,
        scope: a.scope.map(|s| match s {
            ScopeFilter::Org => "org".to_string(),
            ScopeFilter::App => "app".to_string(),
        }),
        include_revoked: a.include_revoked.then_some(true),
        status: status.clone(),
        expiring_within,
        parent,
        ..Default::default()
    };
    let tokens = client.list_all_tokens(&ctx.org, &filter).await?;
    if ctx.json() {
        return output::print_json(&tokens);
    }
    if tokens.is_empty() {
        output::note("No tokens match.");
        return Ok(());
    }
    let columns = if chosen.is_empty() {
        let mut columns = DEFAULT_COLUMNS.to_vec();
        if a.include_revoked || status.is_some() || tokens.iter().any(|t| t.status != "active") {
            columns.push(Column::Status);
        }
        columns
    } else {
        chosen
    };
    for line in render_list(&tokens, &columns, now(), table::terminal_width()) {
        println!("{line}");
    }
    Ok(())
}

// ---- view, update, revoke ----

fn print_token(t: &Token) {
    let now = now();
    let scope = match (&t.scope[..], &t.app) {
        ("app", Some(app)) => format!("app {app}"),
        _ => "org".to_string(),
    };
    let mut rows = vec![
        ("ID", t.id.to_string()),
        ("Owner", format!("{} ({})", t.owner, t.owner_kind)),
        ("Label", output::or_dash(t.label.as_deref().unwrap_or(""))),
        ("Status", columns::status_text(t)),
        ("Scope", scope),
        ("Claims", t.claims.join("\n")),
        (
            "Created",
            format!(
                "{} by {}",
                output::when(t.created_at, now),
                t.created_by_name
            ),
        ),
        ("Expires", output::when(t.expires_at, now)),
        (
            "Parent",
            t.parent_id
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "Allowed from",
            if t.allowed_cidrs.is_empty() {
                "anywhere".into()
            } else {
                t.allowed_cidrs.join("\n")
            },
        ),
        ("Uses", columns::uses_text(t)),
        (
            "Last used",
            t.last_used_at
                .map(|u| output::when(u, now))
                .unwrap_or_else(|| "never".into()),
        ),
    ];
    if let Some(r) = t.revoked_at {
        // Why is in Status: `revoked (leaked)`.
        rows.push(("Revoked", output::when(r, now)));
    }
    output::print_kv(&rows);
}

/// Why the token was revoked, under either of the names the wire gives it.
pub(crate) fn revoked_reason(t: &Token) -> Option<&str> {
    t.revoked_reason
        .as_deref()
        .or(t.revoke_reason.as_deref())
        .filter(|r| !r.is_empty())
}

async fn view(ctx: &Ctx, a: ViewArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let t = resolve(ctx, &client, &a.id_or_label).await?;
    if ctx.json() {
        return output::print_json(&t);
    }
    print_token(&t);
    Ok(())
}

// ---- update ----

async fn update(ctx: &Ctx, a: UpdateArgs) -> Result<(), CliError> {
    if a.label.is_none() && a.expiry.is_none() {
        return Err(CliError::usage(
            "nothing to change: pass --label or --expiry",
        ));
    }
    let mut req = UpdateToken {
        label: a.label,
        ..Default::default()
    };
    match a.expiry.as_deref().map(parse_expiry).transpose()? {
        Some(Expiry::In(_)) => req.expiry = a.expiry.map(|e| e.trim().to_string()),
        Some(Expiry::At(_)) => req.expires_at = a.expiry.map(|e| e.trim().to_string()),
        None => {}
    }
    let client = ctx.client()?;
    let t = resolve(ctx, &client, &a.id_or_label).await?;
    let t = client.update_token(&ctx.org, t.id, &req).await?;
    if ctx.json() {
        return output::print_json(&t);
    }
    output::note(&format!("Updated token {}.", t.id));
    print_token(&t);
    Ok(())
}

// ---- revoke ----

async fn revoke(ctx: &Ctx, a: RevokeArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let mut targets: Vec<Token> = Vec::new();
    for key in &a.ids {
        // A label only revoked tokens have names all of them: each is then
        // said to be already revoked (see `resolve`).
        for t in resolve::resolve_for_revoke(ctx, &client, key).await? {
            if !targets.iter().any(|x| x.id == t.id) {
                targets.push(t);
            }
        }
    }
    let describe = |t: &Token| {
        let label = t
            .label
            .as_deref()
            .map(|l| format!(" \"{l}\""))
            .unwrap_or_default();
        format!("{}{label} of {}", t.id, t.owner)
    };
    // Revoking is idempotent: a token already revoked is said to be, with
    // when, and needs no confirmation.
    let (already, live): (Vec<Token>, Vec<Token>) =
        targets.into_iter().partition(|t| t.revoked_at.is_some());
    let now = now();
    if !ctx.json() {
        for t in &already {
            if let Some(at) = t.revoked_at {
                println!(
                    "Token {} was already revoked at {}.",
                    describe(t),
                    output::when(at, now)
                );
            }
        }
    }
    let question = match &live[..] {
        [] => None,
        [one] => Some(format!("Revoke token {}?", describe(one))),
        many => Some(format!(
            "Revoke {} tokens?\n  {}\n",
            many.len(),
            many.iter().map(describe).collect::<Vec<_>>().join("\n  ")
        )),
    };
    if let Some(question) = question {
        prompt::confirm(ctx, a.yes, &question)?;
    }
    let mut done = already;
    for t in &live {
        let r = client
            .revoke_token(&ctx.org, t.id, a.reason.as_deref())
            .await?;
        if !ctx.json() {
            println!("Revoked token {}.", describe(&r));
        }
        done.push(r);
    }
    if ctx.json() {
        output::print_json(&done)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        cmd: TokensCommand,
    }

    fn issue_args(args: &[&str]) -> IssueArgs {
        let all = ["t", "issue"].iter().chain(args).copied();
        match T::try_parse_from(all).unwrap().cmd {
            TokensCommand::Issue(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aliases_of_coder_and_hyphen_expiries_parse() {
        let a = issue_args(&["-n", "laptop", "-e", "-5d"]);
        assert_eq!(a.label.as_deref(), Some("laptop"));
        assert_eq!(a.expiry.as_deref(), Some("-5d"));
        assert!(!no_flags(&a));
        assert_eq!(issue_args(&["--name", "x"]).label.as_deref(), Some("x"));
        assert!(no_flags(&issue_args(&[])));
        let rm = T::try_parse_from(["t", "rm", "ci", "--yes"]).unwrap().cmd;
        assert!(matches!(rm, TokensCommand::Revoke(r) if r.yes && r.ids == ["ci"]));
    }
}
