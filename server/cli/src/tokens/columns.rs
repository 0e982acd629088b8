//! The columns of `tokens list`: what each shows of a token, and how it
//! fits a terminal (the fitting itself is [`crate::table`]'s).
//!
//! STATUS says why a revoked token was revoked (`revoked (leaked)`,
//! `revoked (parent revoked)`) where space allows: the reasons are shown
//! when they cost no other column any width, and dropped (`revoked`)
//! otherwise, rather than cut or making labels and scopes give way.

use comfy_table::{Cell, Color};
use sigil_proto::api::Token;
use sigil_proto::Claim;

use crate::error::CliError;
use crate::output;
use crate::table::{self, Fit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
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
    Uses,
    Parent,
    Claims,
}

const ALL_COLUMNS: &[(&str, Column)] = &[
    ("id", Column::Id),
    ("user", Column::User),
    ("created-by", Column::CreatedBy),
    ("created-at", Column::CreatedAt),
    ("expires-at", Column::ExpiresAt),
    ("label", Column::Label),
    // coder's word for the label (`coder tokens list -c name`).
    ("name", Column::Label),
    ("scopes", Column::Scopes),
    ("allow-list", Column::AllowList),
    ("app", Column::App),
    ("last-used", Column::LastUsed),
    ("status", Column::Status),
    ("uses", Column::Uses),
    ("parent", Column::Parent),
    ("claims", Column::Claims),
];

/// What a person reads in 120 columns: the app of an app-scoped token is in
/// ALLOW LIST (as `app:NAME`); CREATED BY (often an email), APP, CREATED AT
/// and CLAIMS on request with `-c`, STATUS with `--include-revoked`.
pub(super) const DEFAULT_COLUMNS: &[Column] = &[
    Column::Id,
    Column::User,
    Column::ExpiresAt,
    Column::Label,
    Column::Scopes,
    Column::AllowList,
    Column::LastUsed,
];

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

/// `revoked (leaked)`, or the bare status when there is no reason.
pub(super) fn status_text(t: &Token) -> String {
    match super::revoked_reason(t) {
        Some(r) if t.status == "revoked" => format!("revoked ({r})"),
        _ => t.status.clone(),
    }
}

/// `3/10` with a limit, `3` without.
pub(super) fn uses_text(t: &Token) -> String {
    match t.max_uses {
        Some(m) => format!("{}/{m}", t.uses),
        None => t.uses.to_string(),
    }
}

/// The text of one cell; STATUS with the revocation reason.
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
        Column::Status => status_text(t),
        Column::Uses => uses_text(t),
        Column::Parent => t
            .parent_id
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
        Column::Claims => t.claims.join(" "),
    }
}

/// `-c`'s columns, loosely spelled.
pub(super) fn parse_columns(raw: &[String]) -> Result<Vec<Column>, CliError> {
    table::parse_columns(ALL_COLUMNS, raw)
}

impl table::Column for Column {
    fn header(self) -> &'static str {
        match self {
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
            Column::Uses => "USES",
            Column::Parent => "PARENT",
            Column::Claims => "CLAIMS",
        }
    }

    /// The ID is never cut (it is what the next command needs), nor are the
    /// short time columns and STATUS; the lists are cut as `a b (+N)`.
    fn fit(self) -> Fit {
        match self {
            Column::Id
            | Column::CreatedAt
            | Column::ExpiresAt
            | Column::LastUsed
            | Column::Status
            | Column::Uses
            | Column::Parent => Fit::Whole,
            Column::User | Column::CreatedBy | Column::Label | Column::App => Fit::Cut,
            Column::Scopes | Column::AllowList | Column::Claims => Fit::List,
        }
    }

    fn cell(self, text: String) -> Cell {
        match self {
            Column::Status => status_cell(text),
            _ => Cell::new(text),
        }
    }
}

/// A STATUS cell, coloured by the status its text starts with.
fn status_cell(text: String) -> Cell {
    let colour = match text.split(' ').next().unwrap_or("") {
        "active" => Some(Color::Green),
        "revoked" => Some(Color::Red),
        "expired" | "exhausted" => Some(Color::DarkYellow),
        _ => None,
    };
    let c = Cell::new(text);
    match colour {
        Some(colour) => c.fg(colour),
        None => c,
    }
}

/// The lines of `tokens list`: on a terminal (`width` known) the table fits
/// it, long cells cut with `…` and the ID never wrapped; in a pipe, whole.
pub(super) fn render_list(
    tokens: &[Token],
    columns: &[Column],
    now: time::OffsetDateTime,
    width: Option<u16>,
) -> Vec<String> {
    let rows = |reasons: bool| -> Vec<Vec<String>> {
        tokens
            .iter()
            .map(|t| {
                columns
                    .iter()
                    .map(|c| match c {
                        Column::Status if !reasons => t.status.clone(),
                        _ => text(*c, t, now),
                    })
                    .collect()
            })
            .collect()
    };
    let with = rows(true);
    let Some(w) = width else {
        return table::render(columns, with, None);
    };
    // The reasons stay when they fit without taking width from any other
    // column (and the table still fits): the bare table's widths, but for
    // STATUS, must be what the table with reasons gets.
    let bare = rows(false);
    let fits = |r: &[Vec<String>]| table::fit(columns, r, w);
    let (full, short) = (fits(&with), fits(&bare));
    let total = full.iter().sum::<usize>() + 2 * columns.len().saturating_sub(1);
    let costs_nothing = columns
        .iter()
        .zip(full.iter().zip(&short))
        .all(|(c, (f, s))| *c == Column::Status || f >= s);
    if costs_nothing && total <= usize::from(w) {
        table::render(columns, with, width)
    } else {
        table::render(columns, bare, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const ID1: &str = "48de76fd-c5c7-4b05-9f70-52af9a996d38";
    const ID2: &str = "0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d";

    /// The fixed "now" of these tests, 2030-01-01T00:00:00Z.
    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::parse(
            "2030-01-01T00:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
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
        let now = now();
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
    fn status_shows_the_reason_where_space_allows() {
        let now = now();
        let tokens = vec![
            token(serde_json::json!({
                "status": "revoked",
                "revoked_at": "2029-12-31T00:00:00Z",
                "revoke_reason": "leaked",
                "revoked_reason": "leaked",
                "label": "ci",
                "claims": ["machines:get:*"],
                "parent_id": ID1,
                "max_uses": 10,
                "uses": 3,
            })),
            token(serde_json::json!({ "status": "exhausted", "max_uses": 1, "uses": 1 })),
        ];
        let cols = [
            Column::Id,
            Column::Label,
            Column::Status,
            Column::Uses,
            Column::Parent,
        ];
        // A wide terminal and a pipe: the reason.
        for width in [Some(200), None] {
            let lines = render_list(&tokens, &cols, now, width);
            assert!(lines[0].contains("STATUS") && lines[0].contains("USES"));
            assert!(
                lines[1].contains("revoked (leaked)") && lines[1].contains("3/10"),
                "{lines:#?}"
            );
            assert!(lines[1].ends_with(ID1), "{}", lines[1]);
            assert!(lines[2].contains("exhausted") && lines[2].contains("1/1"));
            assert!(lines[2].ends_with(" -"), "{}", lines[2]);
        }
        // A narrow one: the bare status rather than a cut label.
        let lines = render_list(
            &tokens,
            &[Column::Id, Column::Label, Column::Status],
            now,
            Some(54),
        );
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 54));
        assert!(
            lines[1].ends_with("revoked") && lines[1].contains(" ci "),
            "{lines:#?}"
        );
    }

    #[test]
    fn columns_parse_loosely() {
        let c = parse_columns(&s(&["name", "Label"])).unwrap();
        assert_eq!(c, vec![Column::Label, Column::Label]);
        let c = parse_columns(&s(&["ID", "expires_at", "Last Used"])).unwrap();
        assert_eq!(c, vec![Column::Id, Column::ExpiresAt, Column::LastUsed]);
        assert!(parse_columns(&s(&["nope"]))
            .unwrap_err()
            .to_string()
            .contains("allow-list"));
        let c = parse_columns(&s(&["status", "uses", "parent"])).unwrap();
        assert_eq!(c, vec![Column::Status, Column::Uses, Column::Parent]);
    }
}
