//! `sigil tokens …`: issue, list, view and revoke tokens.
//!
//! # `--scope` and `--allow`, as coder spells them
//! Coder grants a token *scopes* (`workspace:read`) and an *allow list* of
//! resources (`workspace:<uuid>`, `workspace:*`, `*:*`). Sigil's claims say both
//! at once (`scope:action:specific`), so the two flags are combined:
//!
//! - every `--scope S:A` paired with every `--allow T:ID` whose type matches
//!   (`T` = `S`, or either is `*`) gives the claim `X:A:ID`, where `X` is the
//!   more specific of `S` and `T`; claims of the same `X:A` are merged
//!   (`X:A:id1,id2`, or `X:A:*` as soon as one entry is `*`);
//! - `--scope` alone means every resource of that type: `S:A:*`;
//! - `--allow` alone means every action on those resources: `T:*:ID`;
//! - a `--scope` that no `--allow` entry matches is refused, since it would
//!   grant nothing;
//! - `--claim` adds claims as they are. With none of the three flags the token
//!   gets all of its owner's permissions (the server's default).

use clap::{Args, Subcommand, ValueEnum};
use sigil_proto::api::{IssueToken, IssuedToken, Token, TokenFilter, UpdateToken};
use sigil_proto::client::Client;
use sigil_proto::duration::{Expiry, ACCEPTED_FORMS};
use sigil_proto::names::Username;
use sigil_proto::Claim;
use std::collections::BTreeSet;
use uuid::Uuid;

use super::bots::parse_claims;
use super::context::Ctx;
use super::error::{is_jwt, CliError};
use super::output::{self, now};
use super::prompt;

/// Expiry the wizard proposes; the server's default lifetime applies when
/// `-e` is left out on the command line.
const WIZARD_DEFAULT_EXPIRY: &str = "90d";

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token for a bot (or a user) and print it, once.
    #[command(
        visible_alias = "create",
        after_help = "Examples:
  sigil tokens issue -u steve -e 100d -l ci
  TOKEN=$(sigil tokens issue -u steve -e 30d)          # only the token goes to stdout
  sigil tokens issue -u steve -e 2030-01-31T00:00:00Z -o json
  sigil tokens issue -u steve --claim 'machines:get,list:*'
  sigil tokens issue -u steve --scope machines:get --allow machines:48de76fd-c5c7-4b05-9f70-52af9a996d38
  sigil tokens issue -u deployer --app web -e 7d
  sigil tokens issue                                   # on a terminal: a short wizard

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
  sigil tokens list -o json | jq '.[] | select(.label == \"ci\") | .id'

Default columns: id, user, expires-at, label, scopes, allow-list, last-used (and status
with --include-revoked). Columns for -c: id, user, created-by, created-at, expires-at, label, scopes, allow-list,
app, last-used, status, claims."
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
        visible_alias = "delete",
        after_help = "Examples:
  sigil tokens revoke 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d
  sigil tokens revoke ID1 ID2 --reason \"leaked in a CI log\" --yes
  sigil tokens revoke \"$LEAKED_JWT\" --yes     # the JWT itself: its id is read from it"
    )]
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The bot (or user email) the token is for.
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    pub username: Option<String>,
    /// Lifetime (100d, 36h, 1y, 1h30m…) or an RFC 3339 time [default: the server's, 90d].
    #[arg(short = 'e', long, value_name = "DURATION|TIME")]
    pub expiry: Option<String>,
    /// A label to find the token by later.
    #[arg(short = 'l', long)]
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
    #[arg(short = 'e', long, value_name = "DURATION|TIME")]
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

pub async fn run(ctx: &Ctx, cmd: TokensCommand) -> Result<(), CliError> {
    match cmd {
        TokensCommand::Issue(a) => issue(ctx, a).await,
        TokensCommand::List(a) => list(ctx, a).await,
        TokensCommand::View(a) => view(ctx, a).await,
        TokensCommand::Update(a) => update(ctx, a).await,
        TokensCommand::Revoke(a) => revoke(ctx, a).await,
    }
}

// ---- --scope / --allow ----

fn check_type(t: &str) -> bool {
    t == "*"
        || (!t.is_empty()
            && t.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@')
            }))
}

/// An `--allow` entry: `TYPE:UUID`, `TYPE:*` or `*:*`.
fn parse_allow(raw: &str) -> Result<(String, String), CliError> {
    let bad = || {
        CliError::usage(format!(
            "invalid allow_list entry {raw:?}: expected TYPE:UUID, TYPE:* or *:* \
             (e.g. machines:48de76fd-c5c7-4b05-9f70-52af9a996d38, machines:*, *:*)"
        ))
    };
    let (t, id) = raw.split_once(':').ok_or_else(bad)?;
    if !check_type(t) {
        return Err(bad());
    }
    match (t, id) {
        ("*", "*") => Ok(("*".into(), "*".into())),
        ("*", _) => Err(bad()),
        (_, "*") => Ok((t.into(), "*".into())),
        (_, id) => {
            let id = Uuid::parse_str(id).map_err(|_| bad())?;
            Ok((t.into(), id.hyphenated().to_string()))
        }
    }
}

/// A `--scope` entry: `TYPE:ACTIONS`.
fn parse_scope(raw: &str) -> Result<(String, String), CliError> {
    let bad = |why: String| {
        CliError::usage(format!(
            "invalid --scope {raw:?}: {why}; expected TYPE:ACTIONS such as machines:get,list, bots:* or *:*"
        ))
    };
    let (s, a) = raw.split_once(':').ok_or_else(|| bad("no ':'".into()))?;
    // Validate both halves with the one claim parser.
    Claim::parse(&format!("{s}:{a}:*")).map_err(|e| bad(e.reason))?;
    Ok((s.into(), a.into()))
}

/// The claims of `--claim`, `--scope` and `--allow` together; `None` when none
/// was given (the token then gets all of its owner's permissions).
pub fn build_claims(
    claims: &[String],
    scopes: &[String],
    allows: &[String],
) -> Result<Option<Vec<String>>, CliError> {
    let allows = allows
        .iter()
        .map(|a| parse_allow(a))
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = scopes
        .iter()
        .map(|s| parse_scope(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<String> = claims.to_vec();
    // (type, actions) → specifics, in first-seen order.
    let mut merged: Vec<((String, String), BTreeSet<String>)> = Vec::new();
    let mut add = |t: &str, a: &str, id: &str| {
        let key = (t.to_string(), a.to_string());
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ids)) => {
                ids.insert(id.to_string());
            }
            None => merged.push((key, BTreeSet::from([id.to_string()]))),
        }
    };
    if scopes.is_empty() {
        for (t, id) in &allows {
            add(t, "*", id);
        }
    }
    for (s, a) in &scopes {
        if allows.is_empty() {
            add(s, a, "*");
            continue;
        }
        let mut matched = false;
        for (t, id) in &allows {
            let x = match (s.as_str(), t.as_str()) {
                ("*", t) => t,
                (s, "*") => s,
                (s, t) if s == t => s,
                _ => continue,
            };
            matched = true;
            add(x, a, id);
        }
        if !matched {
            return Err(CliError::usage(format!(
                "--scope {s}:{a} matches no --allow entry, so it would grant nothing; \
                 add --allow {s}:UUID, --allow {s}:* or --allow *:*"
            )));
        }
    }
    for ((t, a), ids) in merged {
        let specific = if ids.contains("*") {
            "*".to_string()
        } else {
            ids.into_iter().collect::<Vec<_>>().join(",")
        };
        out.push(format!("{t}:{a}:{specific}"));
    }
    if out.is_empty() {
        return Ok(None);
    }
    parse_claims("claims", &out).map(Some)
}

// ---- issue ----

fn parse_expiry(raw: &str) -> Result<Expiry, CliError> {
    Expiry::parse("expiry", raw.trim()).map_err(|_| {
        CliError::usage(format!(
            "invalid --expiry {raw:?}: expected {ACCEPTED_FORMS}"
        ))
    })
}

async fn issue(ctx: &Ctx, a: IssueArgs) -> Result<(), CliError> {
    // Everything given on the command line is checked before anything is asked.
    let claims = build_claims(&a.claims, &a.scopes, &a.allows)?;
    if let Some(e) = &a.expiry {
        parse_expiry(e)?;
    }
    let client = ctx.client()?;
    let (owner, expiry, label) = match a.username {
        Some(u) => (u, a.expiry, a.label),
        None if ctx.interactive => wizard(ctx, &client, a.expiry, a.label).await?,
        None => return Err(prompt::missing(
            "--username (-u): the bot the token is for, e.g. `sigil tokens issue -u steve -e 100d`",
        )),
    };
    let mut req = IssueToken {
        owner,
        label: label.filter(|l| !l.is_empty()),
        app: a.app,
        claims,
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

/// Asks for what `tokens issue` needs and was not given.
async fn wizard(
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
    output::note(&format!(
        "Issued token {}{label} for {} (expires {}).",
        t.id,
        t.owner,
        output::when(t.expires_at, now())
    ));
    output::warn("copy the token now: it cannot be shown again.");
    Ok(())
}

// ---- list ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    User,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    Label,
    Scopes,
    AllowList,
    App,
    LastUsed,
    Status,
    Claims,
}

const ALL_COLUMNS: &[(&str, Column)] = &[
    ("id", Column::Id),
    ("user", Column::User),
    ("created-by", Column::CreatedBy),
    ("created-at", Column::CreatedAt),
    ("expires-at", Column::ExpiresAt),
    ("label", Column::Label),
    ("scopes", Column::Scopes),
    ("allow-list", Column::AllowList),
    ("app", Column::App),
    ("last-used", Column::LastUsed),
    ("status", Column::Status),
    ("claims", Column::Claims),
];

/// What a person reads in 120 columns: the app of an app-scoped token is in
/// ALLOW LIST (as `app:NAME`); CREATED BY (often an email), APP, CREATED AT
/// and CLAIMS on request with `-c`, STATUS with `--include-revoked`.
const DEFAULT_COLUMNS: &[Column] = &[
    Column::Id,
    Column::User,
    Column::ExpiresAt,
    Column::Label,
    Column::Scopes,
    Column::AllowList,
    Column::LastUsed,
];

fn parse_columns(raw: &[String]) -> Result<Vec<Column>, CliError> {
    raw.iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let norm = c.trim().to_ascii_lowercase().replace(['_', ' '], "-");
            ALL_COLUMNS
                .iter()
                .find(|(n, _)| *n == norm)
                .map(|(_, c)| *c)
                .ok_or_else(|| {
                    let names: Vec<&str> = ALL_COLUMNS.iter().map(|(n, _)| *n).collect();
                    CliError::usage(format!(
                        "unknown column {c:?} for -c: expected some of {}",
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

fn header(c: Column) -> &'static str {
    match c {
        Column::Id => "ID",
        Column::User => "USER",
        Column::CreatedBy => "CREATED BY",
        Column::CreatedAt => "CREATED AT",
        Column::ExpiresAt => "EXPIRES AT",
        Column::Label => "LABEL",
        Column::Scopes => "SCOPES",
        Column::AllowList => "ALLOW LIST",
        Column::App => "APP",
        Column::LastUsed => "LAST USED",
        Column::Status => "STATUS",
        Column::Claims => "CLAIMS",
    }
}

/// `scope:action` of each claim, as coder shows scopes.
fn scopes_of(t: &Token) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in &t.claims {
        if let Ok(c) = Claim::parse(c) {
            let s = format!("{}:{}", c.scope, c.action);
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    seen.join(" ")
}

/// `type:id` resources the token is limited to, as coder's allow list; an
/// app-scoped token adds `app:NAME`.
fn allow_list_of(t: &Token) -> String {
    let mut seen: Vec<String> = Vec::new();
    if let Some(app) = t.app.as_deref() {
        seen.push(format!("app:{app}"));
    }
    for c in &t.claims {
        let Ok(c) = Claim::parse(c) else { continue };
        let types: Vec<String> = match &c.scope {
            sigil_proto::claims::Part::Any => vec!["*".into()],
            sigil_proto::claims::Part::Items(i) => i.clone(),
        };
        let ids: Vec<String> = match &c.specific {
            sigil_proto::claims::Part::Any => vec!["*".into()],
            sigil_proto::claims::Part::Items(i) => i.clone(),
        };
        for ty in &types {
            for id in &ids {
                let s = format!("{ty}:{id}");
                if !seen.contains(&s) {
                    seen.push(s);
                }
            }
        }
    }
    seen.join(" ")
}

/// The text of one cell.
fn text(c: Column, t: &Token, now: time::OffsetDateTime) -> String {
    match c {
        Column::Id => t.id.to_string(),
        Column::User => t.owner.clone(),
        Column::CreatedBy => t.created_by_name.clone(),
        Column::CreatedAt => output::relative(t.created_at, now),
        Column::ExpiresAt => {
            if t.expires_at <= now {
                format!("expired {}", output::relative(t.expires_at, now))
            } else {
                output::relative(t.expires_at, now)
            }
        }
        Column::Label => output::or_dash(t.label.as_deref().unwrap_or("")),
        Column::Scopes => output::or_dash(&scopes_of(t)),
        Column::AllowList => output::or_dash(&allow_list_of(t)),
        Column::App => output::or_dash(t.app.as_deref().unwrap_or("")),
        Column::LastUsed => output::relative_or(t.last_used_at, now, "never"),
        Column::Status => t.status.clone(),
        Column::Claims => t.claims.join(" "),
    }
}

/// Columns that give up width, widest first, when a table is too wide for
/// the terminal: cut with `…` rather than wrapped. The ID is never cut (it
/// is what the next command needs), nor are the short time columns.
fn shrinkable(c: Column) -> bool {
    matches!(
        c,
        Column::User
            | Column::CreatedBy
            | Column::Label
            | Column::Scopes
            | Column::AllowList
            | Column::App
            | Column::Claims
    )
}

/// Whether a column holds a space-separated list, cut as `a b (+N)`.
fn is_list(c: Column) -> bool {
    matches!(c, Column::Scopes | Column::AllowList | Column::Claims)
}

/// The widest each column may be so that the table fits `width`: the
/// shrinkable columns give up a column at a time, the widest first, down to
/// their header's width (and at least 8).
fn fit(columns: &[Column], rows: &[Vec<String>], width: u16) -> Vec<usize> {
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| console::measure_text_width(&r[i]))
                .chain([header(*c).len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let gaps = 2 * columns.len().saturating_sub(1);
    let floor = |c: Column| header(c).len().max(8);
    while widths.iter().sum::<usize>() + gaps > usize::from(width) {
        let widest = (0..columns.len())
            .filter(|i| shrinkable(columns[*i]) && widths[*i] > floor(columns[*i]))
            .max_by_key(|i| widths[*i]);
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    widths
}

/// The lines of `tokens list`: on a terminal (`width` known) the table fits
/// it, long cells cut with `…` and the ID never wrapped; in a pipe, whole.
fn render_list(
    tokens: &[Token],
    columns: &[Column],
    now: time::OffsetDateTime,
    width: Option<u16>,
) -> Vec<String> {
    use comfy_table::{Cell, ColumnConstraint};
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| columns.iter().map(|c| text(*c, t, now)).collect())
        .collect();
    let limits = width.map(|w| fit(columns, &rows, w));
    let headers: Vec<&str> = columns.iter().map(|c| header(*c)).collect();
    let mut table = output::table_sized(&headers, width);
    for row in rows {
        table.add_row(
            row.into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let c = columns[i];
                    let v = match limits.as_ref().map(|l| l[i]) {
                        Some(max) if is_list(c) => output::truncate_list(&v, max),
                        Some(max) => output::truncate(&v, max),
                        None => v,
                    };
                    match c {
                        Column::Status => output::status_cell(&v),
                        _ => Cell::new(v),
                    }
                })
                .collect::<Vec<_>>(),
        );
    }
    for (i, c) in columns.iter().enumerate() {
        if !shrinkable(*c) {
            if let Some(col) = table.column_mut(i) {
                col.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    output::table_lines(table)
}

async fn list(ctx: &Ctx, a: ListArgs) -> Result<(), CliError> {
    let mut columns = parse_columns(&a.columns)?;
    if columns.is_empty() {
        columns = DEFAULT_COLUMNS.to_vec();
        if a.include_revoked {
            columns.push(Column::Status);
        }
    }
    let filter = TokenFilter {
        owner: a.username,
        app: a.app,
        scope: a.scope.map(|s| match s {
            ScopeFilter::Org => "org".to_string(),
            ScopeFilter::App => "app".to_string(),
        }),
        include_revoked: a.include_revoked.then_some(true),
        ..Default::default()
    };
    let tokens = ctx.client()?.list_all_tokens(&ctx.org, &filter).await?;
    if ctx.json() {
        return output::print_json(&tokens);
    }
    if tokens.is_empty() {
        output::note("No tokens match.");
        return Ok(());
    }
    for line in render_list(&tokens, &columns, now(), output::terminal_width()) {
        println!("{line}");
    }
    Ok(())
}

// ---- view ----

/// The id (`jti`) of a pasted JWT, read from its payload without checking
/// the signature: the server decides what the id names. A JWT is never a
/// label, and revoking a leaked token by pasting it is the natural move.
fn jwt_id(jwt: &str) -> Result<Uuid, CliError> {
    use base64::Engine;
    let bad = || {
        CliError::usage(
            "the argument looks like a JWT but has no readable token id (jti); pass the token's id",
        )
    };
    let payload = jwt.trim().split('.').nth(1).ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    claims
        .get("jti")
        .and_then(|j| j.as_str())
        .and_then(|j| Uuid::parse_str(j).ok())
        .ok_or_else(bad)
}

/// A token by id, by a pasted JWT (its `jti`), or by a label that exactly
/// one token has (live tokens first; revoked ones only when no live token
/// has the label).
async fn resolve(ctx: &Ctx, client: &Client, key: &str) -> Result<Token, CliError> {
    if is_jwt(key) {
        let id = jwt_id(key)?;
        return Ok(client.get_token(&ctx.org, id).await?);
    }
    if let Ok(id) = Uuid::parse_str(key) {
        return Ok(client.get_token(&ctx.org, id).await?);
    }
    for include_revoked in [false, true] {
        let filter = TokenFilter {
            include_revoked: include_revoked.then_some(true),
            ..Default::default()
        };
        let found: Vec<Token> = client
            .list_all_tokens(&ctx.org, &filter)
            .await?
            .into_iter()
            .filter(|t| t.label.as_deref() == Some(key))
            .collect();
        match found.len() {
            0 => continue,
            1 => {
                return found
                    .into_iter()
                    .next()
                    .ok_or_else(|| CliError::failed("no token"))
            }
            n => {
                let ids: Vec<String> = found.iter().map(|t| t.id.to_string()).collect();
                return Err(CliError::usage(format!(
                    "{n} tokens have the label {key:?}: name one by id ({})",
                    ids.join(", ")
                )));
            }
        }
    }
    Err(CliError::failed(format!(
        "no token has the id or label {key:?} in org {}",
        ctx.org
    )))
}

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
        ("Status", t.status.clone()),
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
            "Last used",
            t.last_used_at
                .map(|u| output::when(u, now))
                .unwrap_or_else(|| "never".into()),
        ),
    ];
    if let Some(r) = t.revoked_at {
        rows.push(("Revoked", output::when(r, now)));
        if let Some(reason) = &t.revoke_reason {
            rows.push(("Reason", reason.clone()));
        }
    }
    output::print_kv(&rows);
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
        let t = resolve(ctx, &client, key).await?;
        if !targets.iter().any(|x| x.id == t.id) {
            targets.push(t);
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

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const ID1: &str = "48de76fd-c5c7-4b05-9f70-52af9a996d38";
    const ID2: &str = "0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d";

    #[test]
    fn nothing_means_the_owners_permissions() {
        assert_eq!(build_claims(&[], &[], &[]).unwrap(), None);
    }

    #[test]
    fn scope_alone_covers_every_resource() {
        let c = build_claims(&[], &s(&["machines:get,list", "bots:*"]), &[]).unwrap();
        assert_eq!(c, Some(s(&["machines:get,list:*", "bots:*:*"])));
    }

    #[test]
    fn allow_alone_grants_every_action_on_those_resources() {
        let c = build_claims(&[], &[], &s(&[&format!("machines:{ID1}"), "bots:*"])).unwrap();
        assert_eq!(c, Some(s(&[&format!("machines:*:{ID1}"), "bots:*:*"])));
        assert_eq!(
            build_claims(&[], &[], &s(&["*:*"])).unwrap(),
            Some(s(&["*:*:*"]))
        );
    }

    #[test]
    fn scopes_times_allows_merge_per_type() {
        let allows = s(&[
            &format!("machines:{ID1}"),
            &format!("machines:{ID2}"),
            "bots:*",
        ]);
        let c = build_claims(&[], &s(&["machines:get", "*:list"]), &allows)
            .unwrap()
            .unwrap();
        let mut ids = [ID1, ID2];
        ids.sort();
        assert_eq!(
            c,
            s(&[
                &format!("machines:get:{}", ids.join(",")),
                &format!("machines:list:{}", ids.join(",")),
                "bots:list:*",
            ])
        );
        // `*:*` in the allow list lets the scope's own type through.
        let c = build_claims(
            &[],
            &s(&["machines:get"]),
            &s(&["*:*", &format!("machines:{ID1}")]),
        )
        .unwrap();
        assert_eq!(c, Some(s(&["machines:get:*"])));
    }

    #[test]
    fn a_scope_no_allow_matches_is_refused() {
        let e =
            build_claims(&[], &s(&["bots:get"]), &s(&[&format!("machines:{ID1}")])).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--allow bots:"), "{e}");
    }

    #[test]
    fn claims_pass_through_and_are_validated() {
        let c = build_claims(&s(&["a:b:c"]), &s(&["x:y"]), &[]).unwrap();
        assert_eq!(c, Some(s(&["a:b:c", "x:y:*"])));
        let e = build_claims(&s(&["a:b"]), &[], &[]).unwrap_err();
        assert!(e.to_string().contains("scope:action:specific"), "{e}");
    }

    #[test]
    fn bad_allow_entries_show_the_accepted_form() {
        for bad in [
            "machines",
            "machines:abc",
            "*:48de76fd-c5c7-4b05-9f70-52af9a996d38",
            ":*",
            "a b:*",
            "x:",
        ] {
            let e = build_claims(&[], &[], &s(&[bad])).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("invalid allow_list entry")
                    && msg.contains("TYPE:UUID, TYPE:* or *:*"),
                "{bad}: {msg}"
            );
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn bad_scopes_are_refused() {
        for bad in ["machines", "machines:", ":get", "a:b:c", "a,*:get"] {
            let e = build_claims(&[], &s(&[bad]), &[]).unwrap_err();
            assert!(e.to_string().contains("invalid --scope"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_pasted_jwt_names_its_jti() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"ES256","typ":"JWT"}"#),
            b64(&format!(r#"{{"sub":"x","jti":"{ID1}"}}"#))
        );
        assert!(is_jwt(&jwt) && is_jwt(&format!("{jwt}\n")));
        assert_eq!(jwt_id(&jwt).unwrap().to_string(), ID1);
        let no_jti = format!("{}.{}.c2ln", b64("{}"), b64(r#"{"sub":"x"}"#));
        let e = jwt_id(&no_jti).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(!e.to_string().contains("eyJ"), "{e}");
    }

    fn token(json: serde_json::Value) -> Token {
        let mut base = serde_json::json!({
            "id": ID2,
            "org": "default",
            "owner_id": ID1,
            "owner": "steve",
            "owner_kind": "bot",
            "label": null,
            "claims": [],
            "scope": "org",
            "created_at": "2030-01-01T00:00:00Z",
            "created_by": ID1,
            "created_by_name": "owner@example.com",
            "expires_at": "2030-04-11T00:00:00Z",
            "status": "active",
        });
        for (k, v) in json.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn the_default_list_fits_120_columns_without_wrapping_the_id() {
        let now = time::OffsetDateTime::parse(
            "2030-01-01T00:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let tokens = vec![
            token(serde_json::json!({
                "owner": "deploy-bot-for-the-production-cluster",
                "label": "terraform-managed-rotation-token-eu-west-1",
                "claims": [
                    format!("machines:get,list:{ID1},{ID2}"),
                    "bots:list:*",
                ],
                "last_used_at": "2029-12-31T23:57:00Z",
            })),
            token(serde_json::json!({ "label": "ci", "claims": ["machines:get:*"] })),
        ];
        let lines = render_list(&tokens, DEFAULT_COLUMNS, now, Some(120));
        assert_eq!(
            lines.len(),
            3,
            "one line per row, nothing wrapped:\n{}",
            lines.join("\n")
        );
        for l in &lines {
            assert!(console::measure_text_width(l) <= 120, "too wide: {l:?}");
        }
        // Every row starts with the whole id.
        assert!(
            lines[1].starts_with(ID2) && lines[2].starts_with(ID2),
            "{lines:#?}"
        );
        assert!(
            lines[1].contains('…') && lines[1].contains("(+"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("ci") && lines[2].contains("machines:*"),
            "{}",
            lines[2]
        );
        // With --include-revoked's STATUS column too.
        let mut with_status = DEFAULT_COLUMNS.to_vec();
        with_status.push(Column::Status);
        let lines = render_list(&tokens, &with_status, now, Some(120));
        assert_eq!(lines.len(), 3, "{}", lines.join("\n"));
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 120));
        assert!(lines[1].starts_with(ID2) && lines[1].ends_with("active"));
        // In a pipe nothing is cut.
        let whole = render_list(&tokens, DEFAULT_COLUMNS, now, None);
        assert!(whole[1].contains("terraform-managed-rotation-token-eu-west-1"));
        assert!(whole[1].contains(&format!("machines:{ID2}")));
        assert!(!whole.iter().any(|l| l.contains('…')));
    }

    #[test]
    fn columns_parse_loosely() {
        let c = parse_columns(&s(&["ID", "expires_at", "Last Used"])).unwrap();
        assert_eq!(c, vec![Column::Id, Column::ExpiresAt, Column::LastUsed]);
        assert!(parse_columns(&s(&["nope"]))
            .unwrap_err()
            .to_string()
            .contains("allow-list"));
    }
}
