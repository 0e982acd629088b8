//! The flags of `sigil tokens …`, and the parsing of `--expiry` they share.

use clap::{Args, Subcommand, ValueEnum};
use sigil_proto::duration::{is_duration_syntax, parse_duration_for, Expiry, ACCEPTED_FORMS};
use sigil_proto::rules::{self, TokenStatus};

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
  sigil tokens issue -u deployer -e 30d --cidr 10.0.0.0/8 --cidr 2001:db8::/32
  sigil tokens issue -u bootstrap -e 1h --max-uses 1  # a one-time token
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
  sigil tokens list --status revoked --status exhausted
  sigil tokens list --expiring-within 14d
  sigil tokens list --parent 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d   # its derived tokens
  sigil tokens list -c id,user,expires-at,label,status,uses,parent
  sigil tokens list -c id,name                 # name is label, as coder calls it
  sigil tokens list -o json | jq '.[] | select(.label == \"ci\") | .id'

Default columns: id, user, expires-at, label, scopes, allow-list, last-used (and status
with --include-revoked or --status, or when a listed token is not active). Columns for -c:
id, user, created-by, created-at, expires-at, label (or name), scopes, allow-list, app,
last-used, status, uses, parent, claims."
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
    /// Derive a narrower token from the one you call with (--token/SIGIL_TOKEN), and print it, once.
    #[command(
        visible_alias = "derive",
        after_help = "Examples:
  sigil tokens attenuate -e 1h --claim 'machines:get:*'            # the parent is SIGIL_TOKEN
  CHILD=$(sigil tokens attenuate --token \"$PARENT\" -e 15m -l job-42 --max-uses 1)
  sigil tokens attenuate -e 1d --app web --cidr 10.0.0.0/8 -o json

The child can only be narrower than its parent: claims within the parent's effective
claims, expiry no later, the same owner (and app, if the parent has one), networks
inside the parent's, no more uses. Left out, each is the parent's. Anyone holding a
token may derive from it; revoking the parent revokes the child."
    )]
    Attenuate(AttenuateArgs),
    /// Report leaked tokens (one a line on stdin) so that Sigil revokes them; no login needed.
    #[command(after_help = "Examples:
  sigil tokens report-leak --source https://gist.github.com/someone/abc123 < found.txt
  grep -o 'eyJ[A-Za-z0-9._-]*' build.log | sigil tokens report-leak --source \"CI log #812\"
  sigil tokens report-leak --endpoint https://sigil.example.com < found.txt

Sends no token of yours: anyone may report. The server revokes every string that is a
live Sigil token (reason `leaked`) and tells its owners; the answer is only how many
strings it received, never which were tokens. Blank lines are skipped; more than 1000
lines go in several requests.")]
    ReportLeak(ReportLeakArgs),
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
    #[command(flatten)]
    pub binding: BindingArgs,
}

/// `--cidr` and `--max-uses`, shared by `issue` and `attenuate`.
#[derive(Debug, Default, Args)]
pub struct BindingArgs {
    /// A network the token may be used from: an IPv4/IPv6 CIDR such as 10.0.0.0/8 or an
    /// address (repeatable, at most 32) [default: anywhere].
    #[arg(long = "cidr", value_name = "CIDR")]
    pub cidrs: Vec<String>,
    /// How many times the token may be used (1–1000000) [default: unlimited].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_uses: Option<String>,
}

#[derive(Debug, Args)]
pub struct AttenuateArgs {
    /// A claim, `scope:action:specific`, within the parent's (repeatable) [default: the
    /// parent's claims].
    #[arg(long = "claim", value_name = "CLAIM")]
    pub claims: Vec<String>,
    /// Lifetime (1h, 30m, 7d…) or an RFC 3339 time, no later than the parent's
    /// [default: the parent's expiry].
    #[arg(
        short = 'e',
        long,
        value_name = "DURATION|TIME",
        allow_hyphen_values = true
    )]
    pub expiry: Option<String>,
    /// A label for the child.
    #[arg(short = 'l', long, visible_short_alias = 'n', visible_alias = "name")]
    pub label: Option<String>,
    /// Scope the child to this app (an org-wide parent only; an app-scoped parent's child
    /// keeps its app).
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,
    #[command(flatten)]
    pub binding: BindingArgs,
}

#[derive(Debug, Args)]
pub struct ReportLeakArgs {
    /// Where the tokens were found (a URL, a paste, a log), at most 2048 characters.
    #[arg(long, value_name = "S")]
    pub source: Option<String>,
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
    /// Include revoked and expired tokens (and show a STATUS column).
    #[arg(long)]
    pub include_revoked: bool,
    /// Only tokens of this status: active, expired, revoked or exhausted (repeatable, or
    /// comma-separated); replaces --include-revoked.
    #[arg(long, value_delimiter = ',', value_name = "STATUS")]
    pub status: Vec<String>,
    /// Only active tokens that expire within this duration (14d, 36h, 2w…).
    #[arg(long, value_name = "DURATION")]
    pub expiring_within: Option<String>,
    /// Only the tokens derived directly from this token (an id or a label).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
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

/// `--cidr`s and `--max-uses`, checked by the rules the server applies (the
/// same words): the networks in canonical form, and the number of uses.
pub(crate) fn parse_binding(
    b: &BindingArgs,
) -> Result<(Option<Vec<String>>, Option<i64>), CliError> {
    let cidrs = if b.cidrs.is_empty() {
        None
    } else {
        let nets = rules::parse_cidrs(&b.cidrs)
            .map_err(|e| CliError::usage(format!("invalid --cidr: {}", e.message)))?;
        Some(nets.iter().map(|n| n.to_string()).collect())
    };
    let max_uses = match b.max_uses.as_deref().map(str::trim) {
        None => None,
        Some(raw) => {
            let bad = |why: String| CliError::usage(format!("invalid --max-uses {raw:?}: {why}"));
            let n: i64 = raw.parse().map_err(|_| {
                bad(format!(
                    "max_uses must be a whole number from 1 to {}",
                    rules::MAX_USES
                ))
            })?;
            rules::check_max_uses(n).map_err(|e| bad(e.message))?;
            Some(n)
        }
    };
    Ok((cidrs, max_uses))
}

/// `--status`es, each one of the statuses the server knows, sent
/// comma-separated; `None` when none was given.
pub(crate) fn parse_statuses(raw: &[String]) -> Result<Option<String>, CliError> {
    let mut out: Vec<&'static str> = Vec::new();
    for v in raw.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let s = TokenStatus::parse(&v.to_ascii_lowercase())
            .map_err(|e| CliError::usage(format!("invalid --status {v:?}: {}", e.message)))?;
        if !out.contains(&s.as_str()) {
            out.push(s.as_str());
        }
    }
    Ok((!out.is_empty()).then(|| out.join(",")))
}

/// `--expiring-within`: a duration (not a time), checked before it is sent.
pub(crate) fn parse_expiring_within(raw: &str) -> Result<String, CliError> {
    let v = raw.trim();
    parse_duration_for("expiring_within", v).map_err(|_| {
        CliError::usage(format!(
            "invalid --expiring-within {raw:?}: expected a positive duration such as 36h, \
             14d, 2w, 6mo (30 days), 1y (365 days) or a combination such as 1d12h"
        ))
    })?;
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(cidrs: &[&str], max_uses: Option<&str>) -> BindingArgs {
        BindingArgs {
            cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
            max_uses: max_uses.map(String::from),
        }
    }

    #[test]
    fn bad_cidrs_name_the_field_and_the_accepted_form() {
        let e = parse_binding(&binding(&["10.0.0.0/33"], None)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "invalid --cidr: allowed_cidrs: `10.0.0.0/33` is not an IPv4 or IPv6 network"
            ) && msg.contains("10.0.0.0/8, 2001:db8::/32 or 192.0.2.7"),
            "{msg}"
        );
        let msg = parse_binding(&binding(&["10.0.0.1/8"], None))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("host bits set; the network is 10.0.0.0/8"),
            "{msg}"
        );
        let many: Vec<String> = (0..=rules::MAX_CIDRS)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let msg = parse_binding(&binding(&many, None))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at most 32"), "{msg}");
        // Good ones come back canonical, duplicates dropped.
        let (cidrs, uses) = parse_binding(&binding(
            &["192.0.2.7", "2001:db8::/32", "192.0.2.7/32"],
            None,
        ))
        .unwrap();
        assert_eq!(cidrs.unwrap(), ["192.0.2.7/32", "2001:db8::/32"]);
        assert_eq!(uses, None);
        assert_eq!(parse_binding(&binding(&[], None)).unwrap(), (None, None));
    }

    #[test]
    fn max_uses_is_from_1_to_a_million() {
        for raw in ["0", "-1", "1000001"] {
            let e = parse_binding(&binding(&[], Some(raw))).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert_eq!(
                e.to_string(),
                format!("invalid --max-uses {raw:?}: max_uses must be from 1 to 1000000")
            );
        }
        let msg = parse_binding(&binding(&[], Some("once")))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("max_uses must be a whole number from 1 to 1000000"),
            "{msg}"
        );
        assert_eq!(
            parse_binding(&binding(&[], Some("1"))).unwrap(),
            (None, Some(1))
        );
    }

    #[test]
    fn statuses_and_expiring_within_are_checked_before_sending() {
        let e = parse_statuses(&["revoked".into(), "dead".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "invalid --status \"dead\": status must be one of active, expired, revoked, exhausted (not `dead`)"
        );
        let all = parse_statuses(&["Revoked".into(), "exhausted".into(), "revoked".into()]);
        assert_eq!(all.unwrap().as_deref(), Some("revoked,exhausted"));
        assert_eq!(parse_statuses(&[]).unwrap(), None);
        assert_eq!(parse_expiring_within(" 14d ").unwrap(), "14d");
        for bad in ["soon", "0d", "2030-01-31T00:00:00Z", "-1d"] {
            let msg = parse_expiring_within(bad).unwrap_err().to_string();
            assert!(
                msg.starts_with(&format!(
                    "invalid --expiring-within {bad:?}: expected a positive duration"
                )) && msg.contains("14d"),
                "{msg}"
            );
        }
    }

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
