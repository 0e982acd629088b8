//! The flags of `sigil tokens …`, and the parsing of `--expiry` they share.

use clap::{Args, Subcommand, ValueEnum};
use sigil_proto::duration::{is_duration_syntax, Expiry, ACCEPTED_FORMS};

use crate::error::CliError;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token for a bot (or a user; without -u, for yourself) and print it, once.
    #[command(
        visible_alias = "create",
        after_help = "Examples:
  sigil tokens issue -u steve -e 100d -l ci
  sigil tokens issue -e 8h -n laptop                   # no -u: a token for yourself
  TOKEN=$(sigil tokens issue -u steve -e 30d)          # only the token goes to stdout
  sigil tokens issue -u steve -e 2030-01-31T00:00:00Z -o json
  sigil tokens issue -u steve --claim 'machines:get,list:*'
  sigil tokens issue -u steve --scope machines:get --allow machines:48de76fd-c5c7-4b05-9f70-52af9a996d38
  sigil tokens issue -u deployer --app web -e 7d
  sigil tokens issue                                   # no flags, on a terminal: a short wizard

--scope S:A and --allow TYPE:ID combine into claims: --scope machines:get with
--allow machines:ID gives machines:get:ID; --scope alone gives S:A:*; --allow alone
gives TYPE:*:ID. --allow entries are TYPE:UUID, TYPE:* or *:*."
    )]
    Issue(IssueArgs),
    /// List tokens (metadata only; a token is never shown again after issue).
    #[command(
        visible_alias = "ls",
        after_help = "Examples:
  sigil tokens list
  sigil tokens list -u steve --include-revoked
  sigil tokens list --app web
  sigil tokens list -c id,user,expires-at,label,status
  sigil tokens list -c id,name                 # name is label, as coder calls it
  sigil tokens list -o json | jq '.[] | select(.label == \"ci\") | .id'

Default columns: id, user, expires-at, label, scopes, allow-list, last-used (and status
with --include-revoked). Columns for -c: id, user, created-by, created-at, expires-at, label (or name), scopes,
allow-list, app, last-used, status, claims."
    )]
    List(ListArgs),
    /// Show one token's metadata, by id or by label.
    #[command(
        visible_alias = "show",
        after_help = "Examples:\n  sigil tokens view 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d\n  sigil tokens view ci -o json   # by label, when one live token has it"
    )]
    View(ViewArgs),
    /// Change a token's label, or shorten (never extend) its expiry.
    #[command(after_help = "Examples:
  sigil tokens update 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d --label deploy-prod
  sigil tokens update ci --expiry 1h      # shorten: the token dies within the hour
  sigil tokens update ci --label \"\"      # clear the label")]
    Update(UpdateArgs),
    /// Revoke tokens by id, label or the JWT itself, at once and for good.
    #[command(
        visible_aliases = ["delete", "rm"],
        after_help = "Examples:
  sigil tokens revoke 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d
  sigil tokens rm ci --yes                     # rm and delete are the same command
  sigil tokens revoke ID1 ID2 --reason \"leaked in a CI log\" --yes
  sigil tokens revoke \"$LEAKED_JWT\" --yes     # the JWT itself: its id is read from it"
    )]
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The bot (or user email) the token is for [default: yourself, when other flags are
    /// given; none at all on a terminal: the wizard].
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    pub username: Option<String>,
    /// Lifetime (100d, 36h, 1y, 1h30m…) or an RFC 3339 time [default: the server's, 90d].
    // Hyphen values are taken, so `-e -5d` is refused for what it means.
    #[arg(
        short = 'e',
        long,
        value_name = "DURATION|TIME",
        allow_hyphen_values = true
    )]
    pub expiry: Option<String>,
    /// A label to find the token by later (`-n/--name` as coder spells it).
    #[arg(short = 'l', long, visible_short_alias = 'n', visible_alias = "name")]
    pub label: Option<String>,
    /// A claim, `scope:action:specific` (repeatable) [default: all the owner's permissions].
    #[arg(long = "claim", value_name = "CLAIM")]
    pub claims: Vec<String>,
    /// What the token may do, as coder spells it: `TYPE:ACTIONS`, e.g. `machines:get,list`
    /// (repeatable). Not `tokens list --scope`, which filters on org|app.
    #[arg(long = "scope", value_name = "S:A")]
    pub scopes: Vec<String>,
    /// An allow-list entry: `TYPE:UUID`, `TYPE:*` or `*:*` (repeatable).
    #[arg(long = "allow", value_name = "TYPE:ID")]
    pub allows: Vec<String>,
    /// Scope the token to this app (name or id) instead of the whole org.
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeFilter {
    /// Tokens valid for the whole org.
    Org,
    /// Tokens scoped to one app.
    App,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the tokens of this bot (or user email).
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    pub username: Option<String>,
    /// Only the tokens scoped to this app.
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,
    /// Only org-wide or only app-scoped tokens. Not `tokens issue --scope S:A`, which
    /// grants actions.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeFilter>,
    /// Include revoked tokens (and show a STATUS column).
    #[arg(long)]
    pub include_revoked: bool,
    /// Columns to show, comma-separated (see below).
    #[arg(short = 'c', long, value_delimiter = ',', value_name = "COLUMNS")]
    pub columns: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Token id, a label that one token has, or the JWT itself.
    // Not named `token`: clap ids are shared with the global `--token`.
    #[arg(value_name = "ID|LABEL")]
    pub id_or_label: String,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Token id, or a label that one token has.
    #[arg(value_name = "ID|LABEL")]
    pub id_or_label: String,
    /// The new label; an empty string clears it.
    #[arg(short = 'l', long)]
    pub label: Option<String>,
    /// A new, earlier expiry: a duration from now or an RFC 3339 time.
    #[arg(
        short = 'e',
        long,
        value_name = "DURATION|TIME",
        allow_hyphen_values = true
    )]
    pub expiry: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Token ids (or labels, or the JWTs themselves).
    #[arg(value_name = "ID", required = true, num_args = 1..)]
    pub ids: Vec<String>,
    /// Why, kept in the audit log.
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `--expiry`: a duration from now or an RFC 3339 time. A negative or zero
/// duration (`-5d`, `0d`) is well-formed and refused for what it means.
pub(crate) fn parse_expiry(raw: &str) -> Result<Expiry, CliError> {
    let v = raw.trim();
    let (negative, unsigned) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    // Written as a duration, and either negative or all zeros.
    let zero = !unsigned.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if is_duration_syntax(unsigned) && (negative || zero) {
        return Err(CliError::usage(format!(
            "invalid --expiry {raw:?}: the lifetime must be positive, e.g. 5d"
        )));
    }
    Expiry::parse("expiry", v).map_err(|_| {
        CliError::usage(format!(
            "invalid --expiry {raw:?}: expected {ACCEPTED_FORMS}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_and_zero_expiries_must_be_positive() {
        for raw in ["-5d", "0d", "0h0m", "-1h30m", "00s"] {
            let e = parse_expiry(raw).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("invalid --expiry {raw:?}: the lifetime must be positive, e.g. 5d"),
            );
        }
        assert!(parse_expiry("5d").is_ok());
        assert!(parse_expiry("2030-01-31T00:00:00Z").is_ok());
        let e = parse_expiry("-soon").unwrap_err().to_string();
        assert!(e.contains("expected") && !e.contains("positive"), "{e}");
        // Beyond 1000 years is not "must be positive".
        let e = parse_expiry("999999y").unwrap_err().to_string();
        assert!(!e.contains("positive"), "{e}");
    }
}
