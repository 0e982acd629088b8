//! Claims: `scope:action:specific`, each part a comma list or `*`.
//!
//! A claim is the product of three sets; a set of claims is their union. The
//! subset check works atom by atom: a claim is expanded into its atoms (one
//! scope, one action, one specific, where `*` stays `*`), and each atom must be
//! covered by a *single* claim of the other set. That is exact: a finite union
//! of products can only cover a `*` part if one of its members has `*` there,
//! and for finite parts the expansion enumerates every point.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// At most this many items in one part of a claim, so expansion stays small.
pub const MAX_PART_ITEMS: usize = 32;
/// At most this many claims in one list (permissions of a principal, claims of a token).
pub const MAX_CLAIMS: usize = 100;
/// At most this many combinations in one claim, and in one list of claims, so
/// the subset check (which expands claims into combinations) stays cheap.
pub const MAX_COMBINATIONS: usize = 1024;
pub const MAX_SET_COMBINATIONS: usize = 10_000;
/// At most this many claims in a computed intersection (a display list).
pub const MAX_SHOWN: usize = 1000;
/// At most this many characters in one item of a part (a scope, an action, a name).
pub const MAX_ITEM_LEN: usize = 256;
/// How much of a refused claim an error message quotes.
const QUOTED: usize = 80;

/// `value` as an error quotes it: at most [`QUOTED`] characters, then `…`.
fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTED) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid claim {value:?}: {reason}; expected scope:action:specific, each part `*` or a comma list of names (e.g. `*:*:*`, `machines:get,list:*`, `bots,tokens:get:*`)")]
pub struct ClaimError {
    pub value: String,
    pub reason: String,
}

/// One part of a claim: `*` or a non-empty list of items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Any,
    Items(Vec<String>),
}

impl Part {
    fn parse(raw: &str, which: &str, whole: &str) -> Result<Self, ClaimError> {
        let err = |reason: String| ClaimError {
            value: quoted(whole),
            reason,
        };
        if raw == "*" {
            return Ok(Part::Any);
        }
        if raw.is_empty() {
            return Err(err(format!("the {which} part is empty")));
        }
        let mut items: Vec<String> = Vec::new();
        for item in raw.split(',') {
            if item.is_empty() {
                return Err(err(format!("the {which} part has an empty item")));
            }
            if item == "*" {
                return Err(err(format!("`*` must stand alone in the {which} part")));
            }
            if item.chars().count() > MAX_ITEM_LEN {
                return Err(err(format!(
                    "a {which} item is longer than {MAX_ITEM_LEN} characters"
                )));
            }
            if !item
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@'))
            {
                return Err(err(format!(
                    "the {which} item {:?} may only hold letters, digits and - _ . / @",
                    quoted(item)
                )));
            }
            if !items.iter().any(|i| i == item) {
                items.push(item.to_string());
            }
        }
        if items.len() > MAX_PART_ITEMS {
            return Err(err(format!(
                "the {which} part has more than {MAX_PART_ITEMS} items"
            )));
        }
        Ok(Part::Items(items))
    }

    fn contains(&self, atom: &Atom) -> bool {
        match (self, atom) {
            (Part::Any, _) => true,
            (Part::Items(_), Atom::Any) => false,
            (Part::Items(items), Atom::Item(i)) => items.iter().any(|x| x == i),
        }
    }

    fn atoms(&self) -> Vec<Atom> {
        match self {
            Part::Any => vec![Atom::Any],
            Part::Items(items) => items.iter().map(|i| Atom::Item(i.clone())).collect(),
        }
    }

    fn intersect(&self, other: &Part) -> Option<Part> {
        match (self, other) {
            (Part::Any, p) | (p, Part::Any) => Some(p.clone()),
            (Part::Items(a), Part::Items(b)) => {
                let items: Vec<String> = a.iter().filter(|x| b.contains(x)).cloned().collect();
                (!items.is_empty()).then_some(Part::Items(items))
            }
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Any => f.write_str("*"),
            Part::Items(items) => f.write_str(&items.join(",")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Any,
    Item(String),
}

/// A claim `scope:action:specific`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Claim {
    pub scope: Part,
    pub action: Part,
    pub specific: Part,
}

impl Claim {
    pub fn parse(value: &str) -> Result<Self, ClaimError> {
        let parts: Vec<&str> = value.split(':').collect();
        if parts.len() != 3 {
            return Err(ClaimError {
                value: quoted(value),
                reason: format!("it has {} part(s), not 3", parts.len()),
            });
        }
        let c = Claim {
            scope: Part::parse(parts[0], "scope", value)?,
            action: Part::parse(parts[1], "action", value)?,
            specific: Part::parse(parts[2], "specific", value)?,
        };
        if c.size() > MAX_COMBINATIONS {
            return Err(ClaimError {
                value: quoted(value),
                reason: format!("it names more than {MAX_COMBINATIONS} scope×action×specific combinations; split it or use `*`"),
            });
        }
        Ok(c)
    }

    /// How many (scope, action, specific) combinations the claim names (`*` counts once).
    fn size(&self) -> usize {
        let n = |p: &Part| match p {
            Part::Any => 1,
            Part::Items(i) => i.len(),
        };
        n(&self.scope) * n(&self.action) * n(&self.specific)
    }

    /// `*:*:*`
    pub fn all() -> Self {
        Claim {
            scope: Part::Any,
            action: Part::Any,
            specific: Part::Any,
        }
    }

    /// Whether this single claim allows `action` on the resource `specific` of type `scope`.
    pub fn allows(&self, scope: &str, action: &str, specific: &str) -> bool {
        self.scope.contains(&Atom::Item(scope.into()))
            && self.action.contains(&Atom::Item(action.into()))
            && self.specific.contains(&Atom::Item(specific.into()))
    }

    fn covers_atom(&self, s: &Atom, a: &Atom, x: &Atom) -> bool {
        self.scope.contains(s) && self.action.contains(a) && self.specific.contains(x)
    }

    /// Whether this single claim covers all of `other`.
    pub fn contains(&self, other: &Claim) -> bool {
        let (ss, aa, xx) = (
            other.scope.atoms(),
            other.action.atoms(),
            other.specific.atoms(),
        );
        ss.iter().all(|s| {
            aa.iter()
                .all(|a| xx.iter().all(|x| self.covers_atom(s, a, x)))
        })
    }

    fn intersect(&self, other: &Claim) -> Option<Claim> {
        Some(Claim {
            scope: self.scope.intersect(&other.scope)?,
            action: self.action.intersect(&other.action)?,
            specific: self.specific.intersect(&other.specific)?,
        })
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scope, self.action, self.specific)
    }
}

impl TryFrom<String> for Claim {
    type Error = ClaimError;
    fn try_from(value: String) -> Result<Self, ClaimError> {
        Claim::parse(&value)
    }
}

impl From<Claim> for String {
    fn from(value: Claim) -> String {
        value.to_string()
    }
}

impl std::str::FromStr for Claim {
    type Err = ClaimError;
    fn from_str(s: &str) -> Result<Self, ClaimError> {
        Claim::parse(s)
    }
}

/// A set of claims (permissions of a principal, claims of a token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimSet(pub Vec<Claim>);

impl ClaimSet {
    /// Parses a list of claim strings, dropping exact duplicates, keeping order.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, ClaimError> {
        if values.len() > MAX_CLAIMS {
            return Err(ClaimError {
                value: format!("{} claims", values.len()),
                reason: format!("at most {MAX_CLAIMS} claims are accepted"),
            });
        }
        let mut out: Vec<Claim> = Vec::new();
        for v in values {
            let c = Claim::parse(v.as_ref())?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        let total: usize = out.iter().map(Claim::size).sum();
        if total > MAX_SET_COMBINATIONS {
            return Err(ClaimError {
                value: format!("{} claims", out.len()),
                reason: format!("together they name more than {MAX_SET_COMBINATIONS} scope×action×specific combinations"),
            });
        }
        Ok(ClaimSet(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Claim> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Whether some claim allows `action` on `specific` of type `scope`.
    pub fn allows(&self, scope: &str, action: &str, specific: &str) -> bool {
        self.0.iter().any(|c| c.allows(scope, action, specific))
    }

    /// Whether every claim of `self` is covered by `other` (the no-escalation check).
    pub fn is_subset_of(&self, other: &ClaimSet) -> bool {
        self.not_covered_by(other).is_empty()
    }

    /// The claims of `self` that `other` does not cover, for error messages.
    pub fn not_covered_by(&self, other: &ClaimSet) -> Vec<&Claim> {
        self.0
            .iter()
            .filter(|c| {
                let (ss, aa, xx) = (c.scope.atoms(), c.action.atoms(), c.specific.atoms());
                !ss.iter().all(|s| {
                    aa.iter().all(|a| {
                        xx.iter()
                            .all(|x| other.0.iter().any(|o| o.covers_atom(s, a, x)))
                    })
                })
            })
            .collect()
    }

    /// The claims both sets allow, for display (whoami, introspection): the
    /// pairwise intersections, without duplicates. Authorization never needs
    /// this list — an atom is allowed when *both* sets cover it — so its cost
    /// is bounded here: at most [`MAX_SHOWN`] claims, and the pass that drops
    /// claims another one covers runs only on short lists.
    pub fn intersect(&self, other: &ClaimSet) -> ClaimSet {
        let mut seen = BTreeSet::new();
        let mut out: Vec<Claim> = Vec::new();
        'outer: for a in &self.0 {
            for b in &other.0 {
                if let Some(c) = a.intersect(b) {
                    if seen.insert(c.clone()) {
                        out.push(c);
                        if out.len() >= MAX_SHOWN {
                            break 'outer;
                        }
                    }
                }
            }
        }
        if out.len() > 64 {
            return ClaimSet(out);
        }
        let kept: Vec<Claim> = out
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                !out.iter()
                    .enumerate()
                    .any(|(j, o)| j != *i && o.contains(c) && (!c.contains(o) || j < *i))
            })
            .map(|(_, c)| c.clone())
            .collect();
        ClaimSet(kept)
    }

    /// The distinct scopes named (for display), `*` when any claim has every scope.
    pub fn scopes(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for c in &self.0 {
            match &c.scope {
                Part::Any => {
                    out.insert("*".to_string());
                }
                Part::Items(items) => out.extend(items.iter().cloned()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> ClaimSet {
        ClaimSet::parse(v).unwrap()
    }

    #[test]
    fn a_long_item_is_refused_with_the_limit_named_and_not_quoted_whole() {
        let long = "a".repeat(10_000);
        let e = Claim::parse(&format!("machines:get:{long}")).unwrap_err();
        assert!(e.to_string().contains("longer than 256 characters"), "{e}");
        assert!(e.to_string().len() < 600, "{e}");
        assert!(Claim::parse(&format!("machines:get:{}", "a".repeat(256))).is_ok());
    }

    #[test]
    fn parses_the_spec_examples() {
        for c in [
            "*:*:*",
            "machines:get,list:*",
            "machines:*:48de76fd-c5c7-4b05-9f70-52af9a996d38",
            "bots,tokens:get,list:*",
        ] {
            assert_eq!(Claim::parse(c).unwrap().to_string(), c);
        }
    }

    #[test]
    fn rejects_malformed_claims_with_the_form() {
        for bad in [
            "", "*", "a:b", "a:b:c:d", "a::c", ":b:c", "a,:b:c", "a,*:b:c", "a b:c:d", "a:b:c ",
        ] {
            let e = Claim::parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("scope:action:specific"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn subset_basics() {
        let all = set(&["*:*:*"]);
        assert!(set(&["machines:get:*"]).is_subset_of(&all));
        assert!(!all.is_subset_of(&set(&["machines:*:*"])));
        assert!(set(&["machines:get:abc"]).is_subset_of(&set(&["machines:get,list:*"])));
        assert!(!set(&["machines:delete:abc"]).is_subset_of(&set(&["machines:get,list:*"])));
        assert!(!set(&["machines:get:*"]).is_subset_of(&set(&["machines:get:abc"])));
        assert!(!set(&["*:get:*"]).is_subset_of(&set(&["machines,bots:get:*"])));
        assert!(set(&[]).is_subset_of(&set(&[])));
        assert!(!set(&["a:b:c"]).is_subset_of(&set(&[])));
    }

    #[test]
    fn subset_through_a_union() {
        // No single claim covers `machines:get,list:*`, the two together do.
        let have = set(&["machines:get:*", "machines:list:*"]);
        assert!(set(&["machines:get,list:*"]).is_subset_of(&have));
        assert!(!set(&["machines:get,list,delete:*"]).is_subset_of(&have));
        // `*` in a part is never covered by finite lists.
        assert!(!set(&["machines:*:x"])
            .is_subset_of(&set(&["machines:get,list,create,update,delete:x"])));
    }

    #[test]
    fn intersection_is_the_effective_rights() {
        let token = set(&["machines:get,list:*", "bots:get:*"]);
        let owner = set(&["machines:list:*"]);
        let eff = token.intersect(&owner);
        assert_eq!(eff.to_strings(), vec!["machines:list:*"]);
        assert!(eff.allows("machines", "list", "x"));
        assert!(!eff.allows("machines", "get", "x"));
        assert!(!eff.allows("bots", "get", "x"));
        let full = set(&["*:*:*"]).intersect(&set(&["*:*:*"]));
        assert_eq!(full.to_strings(), vec!["*:*:*"]);
        assert!(set(&["a:b:c"]).intersect(&set(&["x:y:z"])).is_empty());
    }

    #[test]
    fn intersection_of_large_sets_is_bounded() {
        // 100 × 100 claims whose intersections are all distinct: must stay fast.
        let perms: Vec<String> = (0..100)
            .map(|k| format!("s{}:a{}:*", k / 10, k % 10))
            .collect();
        let wide = "s0,s1,s2,s3,s4,s5,s6,s7,s8,s9:a0,a1,a2,a3,a4,a5,a6,a7,a8,a9"; // 100 each
        let claims: Vec<String> = (0..100).map(|j| format!("{wide}:x{j}")).collect();
        let start = std::time::Instant::now();
        let eff = ClaimSet::parse(&claims)
            .unwrap()
            .intersect(&ClaimSet::parse(&perms).unwrap());
        assert_eq!(eff.0.len(), MAX_SHOWN);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn huge_claims_are_refused() {
        let items: Vec<String> = (0..11).map(|i| format!("x{i}")).collect();
        let l = items.join(",");
        let e = Claim::parse(&format!("{l}:{l}:{l}")).unwrap_err();
        assert!(e.to_string().contains("combinations"), "{e}");
        let many: Vec<String> = (0..11).map(|k| format!("{l}:{l}:k{k}")).collect(); // 11 × 121
        assert!(ClaimSet::parse(&many[..8]).is_ok());
        assert!(ClaimSet::parse(&{
            let mut v = many.clone();
            v.extend((0..80).map(|k| format!("{l}:{l}:j{k}")));
            v
        })
        .is_err());
    }

    #[test]
    fn reports_what_is_not_covered() {
        let want = set(&["machines:get:*", "bots:delete:*"]);
        let have = set(&["machines:*:*"]);
        let missing: Vec<String> = want
            .not_covered_by(&have)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(missing, vec!["bots:delete:*"]);
    }
}

// ---- near misses of Sigil's own scopes ----
//
// Scopes are free strings (resource servers define their own), so a claim is
// never refused for an unknown scope; but `bot:get:*` is almost surely a typo
// of Sigil's `bots`, and a claim that names nothing grants nothing, silently.
// These functions find such near misses so that a client (the CLI, the
// provider) can warn; they never decide whether a claim is valid.

/// The scopes Sigil's own API authorizes with (SPEC §2; the `authorize`
/// calls of the server's `ops`).
pub const SIGIL_SCOPES: &[&str] = &[
    "orgs",
    "users",
    "bots",
    "tokens",
    "apps",
    "revocations",
    "audit",
    "keys",
    "webhooks",
];

/// The actions Sigil's own API checks on its scopes.
pub const SIGIL_ACTIONS: &[&str] = &[
    "get", "list", "create", "update", "delete", "issue", "revoke",
];

/// A scope (or, in a claim about Sigil's scopes, an action) that is not one
/// of Sigil's but is close to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    /// `"scope"` or `"action"`.
    pub part: &'static str,
    /// The item as written.
    pub given: String,
    /// Sigil's name it is close to.
    pub suggestion: &'static str,
}

impl fmt::Display for NearMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.part == "action" {
            "actions"
        } else {
            "scopes"
        };
        write!(
            f,
            "`{}` is not one of Sigil's {what}; did you mean `{}`?",
            self.given, self.suggestion
        )
    }
}

/// Edit distance (optimal string alignment: insertions, deletions and
/// transpositions of neighbours cost 1; a substitution costs `sub`).
fn edit_distance(a: &[u8], b: &[u8], sub: usize) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { sub };
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The name of `names` that `item` is a near miss of, if any: the same name
/// in other case, or one edit away (two for names of 6 letters or more). In
/// items of 4 letters or fewer a substituted letter does not count as one
/// edit, so short words of resource servers (`apis`, `bits`) are not taken
/// for `apps` or `bots`, while `bot`, `key` and `uesrs` are.
fn near(item: &str, names: &[&'static str]) -> Option<&'static str> {
    if item == "*" || names.contains(&item) {
        return None;
    }
    let lower = item.to_ascii_lowercase();
    if let Some(n) = names.iter().find(|n| **n == lower) {
        return Some(n);
    }
    let len = lower.chars().count();
    if len < 3 {
        return None;
    }
    let (sub, most) = match len {
        ..=4 => (2, 1),
        5 => (1, 1),
        _ => (1, 2),
    };
    names
        .iter()
        .map(|n| (edit_distance(lower.as_bytes(), n.as_bytes(), sub), *n))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// The Sigil scope `item` is most likely a typo of (`bot` → `bots`), or
/// `None` when it is one of Sigil's scopes or not close to any.
pub fn suggest_scope(item: &str) -> Option<&'static str> {
    near(item, SIGIL_SCOPES)
}

/// The near misses in one claim string: each scope item close to one of
/// [`SIGIL_SCOPES`]; and, when every scope of the claim is (or is close to)
/// one of Sigil's, each action item close to one of [`SIGIL_ACTIONS`]
/// (`bots:gett:*`; `machines:gett:*` is a resource server's business). A
/// claim that does not parse has none: its error says more.
pub fn near_misses(claim: &str) -> Vec<NearMiss> {
    let Ok(parsed) = Claim::parse(claim) else {
        return Vec::new();
    };
    let Part::Items(scopes) = &parsed.scope else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut about_sigil = true;
    for s in scopes {
        match suggest_scope(s) {
            Some(suggestion) => out.push(NearMiss {
                part: "scope",
                given: s.clone(),
                suggestion,
            }),
            None => about_sigil &= SIGIL_SCOPES.contains(&s.as_str()),
        }
    }
    if let (true, Part::Items(actions)) = (about_sigil, &parsed.action) {
        for a in actions {
            if let Some(suggestion) = near(a, SIGIL_ACTIONS) {
                out.push(NearMiss {
                    part: "action",
                    given: a.clone(),
                    suggestion,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod near_miss_tests {
    use super::*;

    fn shown(claim: &str) -> Vec<String> {
        near_misses(claim).iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn typos_of_sigil_scopes_are_suggested() {
        assert_eq!(
            shown("bot:get:*"),
            ["`bot` is not one of Sigil's scopes; did you mean `bots`?"]
        );
        for (typo, meant) in [
            ("bot", "bots"),
            ("Bots", "bots"),
            ("token", "tokens"),
            ("tokesn", "tokens"),
            ("uesrs", "users"),
            ("user", "users"),
            ("key", "keys"),
            ("org", "orgs"),
            ("app", "apps"),
            ("revocation", "revocations"),
            ("revoactions", "revocations"),
            ("audits", "audit"),
        ] {
            assert_eq!(suggest_scope(typo), Some(meant), "{typo}");
        }
    }

    #[test]
    fn sigil_scopes_and_free_scopes_get_no_suggestion() {
        for fine in SIGIL_SCOPES.iter().chain(&[
            "*",
            "machine",
            "machines",
            "workspace",
            "apis",
            "bits",
            "logs",
            "jobs",
            "b",
            "db",
        ]) {
            assert_eq!(suggest_scope(fine), None, "{fine}");
        }
        assert!(near_misses("machine:gett:*").is_empty());
        assert!(near_misses("*:gett:*").is_empty());
        assert!(near_misses("bots,tokens:get,list:*").is_empty());
        assert!(near_misses("not a claim").is_empty());
    }

    #[test]
    fn actions_are_checked_only_in_claims_about_sigil() {
        assert_eq!(
            shown("bots:gett,list:*"),
            ["`gett` is not one of Sigil's actions; did you mean `get`?"]
        );
        assert_eq!(
            shown("bot:lsit:*"),
            [
                "`bot` is not one of Sigil's scopes; did you mean `bots`?",
                "`lsit` is not one of Sigil's actions; did you mean `list`?",
            ]
        );
        // A resource server's scope beside Sigil's: its actions are its own.
        assert!(near_misses("bots,machines:gett:*").is_empty());
    }
}
