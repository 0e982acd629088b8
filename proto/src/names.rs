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

/// Checks an email address loosely: one `@`, something on both sides, no spaces.
pub fn check_email(value: &str) -> Result<(), NameError> {
    let ok = value.len() <= 254
        && !value.chars().any(char::is_whitespace)
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
    fn emails() {
        assert!(check_email("ops@example.com").is_ok());
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@",
            "ops@local",
            "a b@example.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
