//! Names of orgs, apps, bots and services, parsed once at the edge.
//!
//! Names never look like UUIDs, so every route segment that takes "an id or a
//! name" is unambiguous.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a name was refused; the message names the field and the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: {rule}")]
pub struct NameError {
    pub field: &'static str,
    pub value: String,
    pub rule: &'static str,
}

const ORG_RULE: &str = "expected 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit, not a UUID (pattern [a-z0-9][a-z0-9-]{0,62})";
const BOT_RULE: &str = "expected 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit, not a UUID (pattern [a-z0-9][a-z0-9._-]{0,62})";

fn check(
    field: &'static str,
    value: &str,
    rule: &'static str,
    extra: fn(u8) -> bool,
) -> Result<(), NameError> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || extra(*b))
        && uuid::Uuid::parse_str(value).is_err();
    if ok {
        Ok(())
    } else {
        Err(NameError {
            field,
            value: value.to_string(),
            rule,
        })
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $rule:expr, $extra:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const FIELD: &'static str = $field;

            pub fn parse(value: &str) -> Result<Self, NameError> {
                check($field, value, $rule, $extra)?;
                Ok(Self(value.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::parse(s)
            }
        }
    };
}

name_type!(
    /// An organization name: `[a-z0-9][a-z0-9-]{0,62}`.
    OrgName, "org", ORG_RULE, |_| false
);
name_type!(
    /// An app name: `[a-z0-9][a-z0-9-]{0,62}`.
    AppName, "name", ORG_RULE, |_| false
);
name_type!(
    /// A bot username: `[a-z0-9][a-z0-9._-]{0,62}`, unique in its org.
    Username, "username", BOT_RULE, |b| b == b'.' || b == b'_'
);
name_type!(
    /// A service name in a bot's identities (`slack`, `aws`, `github`).
    ServiceName, "service", BOT_RULE, |b| b == b'.' || b == b'_'
);

/// Checks an email address loosely: one `@`, something on both sides, no
/// spaces or control characters, at most 254 characters.
pub fn check_email(value: &str) -> Result<(), NameError> {
    let ok = value.chars().count() <= MAX_EMAIL_CHARS
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(value.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(NameError {
            field: "email",
            value: value.to_string(),
            rule: "expected an address like ops@example.com",
        })
    }
}

/// The longest email address.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The OpenAPI patterns of the names above (ECMA-262 and Python agree on them).
pub const ORG_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,62}$";
pub const BOT_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,62}$";
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
pub const EMAIL_PATTERN: &str =
    "^[^\\s@\\x00-\\x1f\\x7f-\\x9f]+@[^\\s@\\x00-\\x1f\\x7f-\\x9f]*\\.[^\\s@\\x00-\\x1f\\x7f-\\x9f]*$";

/// What a route segment or a filter refers to: which names it accepts
/// besides an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// An org: id or org name.
    Org,
    /// An app: id or app name.
    App,
    /// A bot: id or username.
    Bot,
    /// A user: id or email.
    User,
    /// A bot or a user: id, username or email.
    Principal,
}

impl RefKind {
    /// The OpenAPI pattern of such a reference.
    pub fn pattern(self) -> String {
        let strip = |p: &str| p.trim_start_matches('^').trim_end_matches('$').to_string();
        let names: Vec<&str> = match self {
            RefKind::Org | RefKind::App => vec![ORG_PATTERN],
            RefKind::Bot => vec![BOT_PATTERN],
            RefKind::User => vec![EMAIL_PATTERN],
            RefKind::Principal => vec![BOT_PATTERN, EMAIL_PATTERN],
        };
        let alts: Vec<String> = std::iter::once(UUID_PATTERN)
            .chain(names)
            .map(strip)
            .collect();
        format!("^(?:{})$", alts.join("|"))
    }

    /// The longest such reference.
    pub fn max_chars(self) -> usize {
        match self {
            RefKind::User | RefKind::Principal => MAX_EMAIL_CHARS,
            _ => 63,
        }
    }
}

/// Checks a reference (a route segment, a filter, an `owner` or `app` field)
/// before any lookup: an id (UUID), or a name of the kind it refers to.
/// Anything else can name no object.
pub fn check_ref(field: &'static str, kind: RefKind, value: &str) -> Result<(), NameError> {
    if value.len() <= 45 && uuid::Uuid::parse_str(value).is_ok() {
        return Ok(());
    }
    let ok = match kind {
        RefKind::Org | RefKind::App => OrgName::parse(value).is_ok(),
        RefKind::Bot => Username::parse(value).is_ok(),
        RefKind::User => check_email(value).is_ok(),
        RefKind::Principal => Username::parse(value).is_ok() || check_email(value).is_ok(),
    };
    if ok {
        return Ok(());
    }
    Err(NameError {
        field,
        value: value.chars().take(80).collect(),
        rule: match kind {
            RefKind::Org => {
                "expected an org id (UUID) or an org name (pattern [a-z0-9][a-z0-9-]{0,62})"
            }
            RefKind::App => {
                "expected an app id (UUID) or an app name (pattern [a-z0-9][a-z0-9-]{0,62})"
            }
            RefKind::Bot => {
                "expected a bot id (UUID) or a username (pattern [a-z0-9][a-z0-9._-]{0,62})"
            }
            RefKind::User => "expected a user id (UUID) or an email address",
            RefKind::Principal => "expected an id (UUID), a bot username or a user email",
        },
    })
}

/// A reference to an object by id or by name, as route segments accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Id(uuid::Uuid),
    Name(String),
}

impl Ref {
    pub fn parse(value: &str) -> Self {
        match uuid::Uuid::parse_str(value) {
            Ok(id) => Ref::Id(id),
            Err(_) => Ref::Name(value.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["steve", "ci-bot", "a", "deploy.prod_1", &"a".repeat(63)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Steve",
            "-steve",
            ".x",
            "has space",
            "émile",
            &"a".repeat(64),
            "48de76fd-c5c7-4b05-9f70-52af9a996d38",
        ] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.field, "username");
            assert!(err.to_string().contains("[a-z0-9][a-z0-9._-]{0,62}"));
        }
    }

    #[test]
    fn org_names_refuse_dots() {
        assert!(OrgName::parse("acme-prod").is_ok());
        assert!(OrgName::parse("acme.prod").is_err());
        assert!(OrgName::parse("acme_prod").is_err());
    }

    #[test]
    fn refs_take_ids_or_names_of_their_kind() {
        let id = "48de76fd-c5c7-4b05-9f70-52af9a996d38";
        for kind in [
            RefKind::Org,
            RefKind::App,
            RefKind::Bot,
            RefKind::User,
            RefKind::Principal,
        ] {
            assert!(check_ref("x", kind, id).is_ok());
            assert!(check_ref("x", kind, "").is_err());
            assert!(check_ref("x", kind, "a\0b").is_err());
        }
        assert!(check_ref("org", RefKind::Org, "acme").is_ok());
        assert!(check_ref("org", RefKind::Org, "ac.me").is_err());
        assert!(check_ref("bot", RefKind::Bot, "ci.bot").is_ok());
        assert!(check_ref("user", RefKind::User, "ops@example.com").is_ok());
        assert!(check_ref("user", RefKind::User, "ops").is_err());
        assert!(check_ref("owner", RefKind::Principal, "ops@example.com").is_ok());
        assert!(check_ref("owner", RefKind::Principal, "ci").is_ok());
        assert!(check_ref("owner", RefKind::Principal, " ci").is_err());
    }

    #[test]
    fn emails() {
        assert!(check_email("ops@example.com").is_ok());
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@",
            "ops@local",
            "a b@example.com",
            "a\0b@example.com",
            "a\u{1c}b@example.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
