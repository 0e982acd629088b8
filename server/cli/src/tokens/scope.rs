//! `--scope` and `--allow`, as coder spells them, compiled into claims.
//!
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

use sigil_proto::Claim;
use std::collections::BTreeSet;
use uuid::Uuid;

use crate::bots::parse_claims;
use crate::error::CliError;

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
}
