//! Short ids: the start of an id names what the whole id names, wherever the
//! CLI takes an id (`sigil tokens revoke 0196f3c2`, as `symflow tokens revoke
//! 662b2…`). A prefix is at least [`MIN_PREFIX`] hex digits; dashes are
//! ignored (the start of a pasted id works), and so is a trailing `…` (a
//! table cell cut short). Exactly one match resolves; several are a usage
//! error that lists them, so the user can pick; none is "not found".
//!
//! Names come first: a bot, app or label that is spelled like a prefix
//! (`cafe`) is what the argument names when it exists. Only then is the
//! argument tried as the start of an id.

use sigil_proto::client::ClientError;
use std::future::Future;
use uuid::Uuid;

use crate::error::CliError;

/// The fewest hex digits taken as an id prefix: shorter ones would match
/// almost anything (ids are UUIDv7, so their first digits are a timestamp
/// and objects made in the same minute share them).
pub const MIN_PREFIX: usize = 4;

/// `key` as an id prefix (lowercase hex digits, dashes dropped), when it is
/// made of hex digits and dashes only, holds at least [`MIN_PREFIX`] digits
/// and is not a whole id.
pub fn as_prefix(key: &str) -> Option<String> {
    let key = key.trim();
    let key = key
        .strip_suffix('…')
        .or_else(|| key.strip_suffix("..."))
        .unwrap_or(key);
    if Uuid::parse_str(key).is_ok() || !key.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return None;
    }
    let digits: String = key
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (MIN_PREFIX..32).contains(&digits.len()).then_some(digits)
}

/// Whether `id` starts with `prefix` (as [`as_prefix`] gives it).
pub fn has_prefix(id: &Uuid, prefix: &str) -> bool {
    id.simple().to_string().starts_with(prefix)
}

/// The one item of `items` whose id starts with `prefix`: `None` when none
/// does; a usage error naming every match (with `describe`) when several do.
/// `what` is the plural noun ("tokens", "bots").
pub fn pick<T>(
    what: &str,
    key: &str,
    prefix: &str,
    items: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    describe: impl Fn(&T) -> String,
) -> Result<Option<T>, CliError> {
    let mut found: Vec<T> = items
        .into_iter()
        .filter(|t| has_prefix(&id(t), prefix))
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => {
            let lines: Vec<String> = found
                .iter()
                .map(|t| format!("  {}  {}", id(t), describe(t)))
                .collect();
            Err(CliError::usage(format!(
                "the id prefix {key:?} matches {n} {what}; give more of the id:\n{}",
                lines.join("\n")
            )))
        }
    }
}

/// `got` (the server's answer for `key` as a name or id), or, when that is
/// "not found" (or a name the server refuses) and `key` looks like the start
/// of an id, the one item of `list()` whose id starts with it. No match
/// answers the server's own error.
pub async fn or_prefix<T, L, F>(
    what: &str,
    key: &str,
    got: Result<T, ClientError>,
    list: L,
    id: impl Fn(&T) -> Uuid,
    describe: impl Fn(&T) -> String,
) -> Result<T, CliError>
where
    L: FnOnce() -> F,
    F: Future<Output = Result<Vec<T>, ClientError>>,
{
    let err = match got {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let Some(prefix) = as_prefix(key).filter(|_| matches!(err.status(), Some(400 | 404))) else {
        return Err(err.into());
    };
    match pick(what, key, &prefix, list().await?, id, describe)? {
        Some(t) => Ok(t),
        None => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d";
    const B: &str = "0196f3c2-99aa-7c4a-9d55-1f2e3a4b5c6d";

    #[test]
    fn what_counts_as_a_prefix() {
        assert_eq!(as_prefix("0196").as_deref(), Some("0196"));
        assert_eq!(as_prefix("0196F3C2-7B").as_deref(), Some("0196f3c27b"));
        assert_eq!(as_prefix("0196f3c2…").as_deref(), Some("0196f3c2"));
        assert_eq!(as_prefix("0196f3c2...").as_deref(), Some("0196f3c2"));
        for not in ["019", "ci", "steve", "", "01-9", A, "0196f3c2x"] {
            assert_eq!(as_prefix(not), None, "{not}");
        }
    }

    #[test]
    fn one_match_resolves_several_are_listed_none_is_none() {
        let ids = || vec![Uuid::parse_str(A).unwrap(), Uuid::parse_str(B).unwrap()];
        let one = pick(
            "tokens",
            "0196f3c27",
            "0196f3c27",
            ids(),
            |u| *u,
            |_| "x".into(),
        );
        assert_eq!(one.unwrap().unwrap().to_string(), A);
        let none = pick("tokens", "ffff", "ffff", ids(), |u| *u, |_| "x".into());
        assert!(none.unwrap().is_none());
        let e = pick(
            "tokens",
            "0196",
            "0196",
            ids(),
            |u| *u,
            |u| format!("of {u}"),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            format!(
                "the id prefix \"0196\" matches 2 tokens; give more of the id:\n  {A}  of {A}\n  {B}  of {B}"
            )
        );
    }
}
