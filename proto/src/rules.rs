//! The syntax and size rules of every free-text field, and the lifetime
//! bounds: one place, so the server refuses, the CLI warns and the Terraform
//! provider fails a `plan` on exactly the same inputs, with the same words.
//!
//! Names (orgs, apps, bots, services, emails) live in [`crate::names`],
//! claims in [`crate::claims`], duration syntax in [`crate::duration`]; this
//! module holds the rest. Each check returns a [`RuleError`] naming the field
//! and the accepted form; the server turns it into a 400 `invalid_input`.

use crate::duration::format_duration;
use crate::names::ServiceName;
use std::collections::BTreeMap;

/// A token's label: free text, shown in lists.
pub const MAX_LABEL_CHARS: usize = 200;
/// A bot's description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// One identity value of a bot (its id in another service).
pub const MAX_IDENTITY_CHARS: usize = 512;
/// The reason given when revoking a token.
pub const MAX_REASON_CHARS: usize = 200;
/// Identities of one bot (services it is known in).
pub const MAX_IDENTITIES: usize = 64;
/// An `expiry` (a duration) or `expires_at` (an RFC 3339 time) as text.
pub const MAX_EXPIRY_CHARS: usize = 64;
/// No token lives longer than this, whatever was asked (the SPEC's longest
/// example is 20 years).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 100 * 365 * 86_400;
/// A token's lifetime when none is asked for (the server's default setting).
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 90 * 86_400;
/// How long a human user's token may live (the server's default setting).
pub const DEFAULT_MAX_USER_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// A field that breaks its rule, and what the rule accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

impl RuleError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A label: at most [`MAX_LABEL_CHARS`] characters, no control characters.
/// Empty is allowed (it clears the label).
pub fn check_label(label: &str) -> Result<(), RuleError> {
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(RuleError::new(
            "label",
            format!(
                "label must be at most {MAX_LABEL_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// Any text field: no NUL character, which no database stores faithfully
/// (PostgreSQL refuses it outright).
pub fn check_no_nul(field: &str, value: &str) -> Result<(), RuleError> {
    if value.contains('\0') {
        return Err(RuleError::new(
            field,
            format!("{field} must not contain a NUL character"),
        ));
    }
    Ok(())
}

/// The text of an `expiry` or `expires_at` before it is parsed: at most
/// [`MAX_EXPIRY_CHARS`] characters.
pub fn check_expiry_text(field: &str, value: &str) -> Result<(), RuleError> {
    if value.chars().count() > MAX_EXPIRY_CHARS {
        return Err(RuleError::new(
            field,
            format!("{field} must be at most {MAX_EXPIRY_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A bot's description: at most [`MAX_DESCRIPTION_CHARS`] characters, no NUL.
pub fn check_description(description: &str) -> Result<(), RuleError> {
    check_no_nul("description", description)?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(RuleError::new(
            "description",
            format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(())
}

/// One identity value: 1 to [`MAX_IDENTITY_CHARS`] characters, no control characters.
pub fn check_identity(identity: &str) -> Result<(), RuleError> {
    if identity.is_empty()
        || identity.chars().count() > MAX_IDENTITY_CHARS
        || identity.chars().any(char::is_control)
    {
        return Err(RuleError::new(
            "identity",
            format!(
                "identity must be 1 to {MAX_IDENTITY_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// A whole identity map (service name → identity), as a bot's `identities` field.
pub fn check_identities(identities: &BTreeMap<String, String>) -> Result<(), RuleError> {
    if identities.len() > MAX_IDENTITIES {
        return Err(RuleError::new(
            "identities",
            format!("a bot has at most {MAX_IDENTITIES} identities"),
        ));
    }
    for (service, identity) in identities {
        ServiceName::parse(service).map_err(|e| RuleError::new("identities", e.to_string()))?;
        check_identity(identity).map_err(|e| RuleError::new("identities", e.message))?;
    }
    Ok(())
}

/// A revocation reason: at most [`MAX_REASON_CHARS`] characters, no control characters.
pub fn check_reason(reason: &str) -> Result<(), RuleError> {
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(RuleError::new(
            "reason",
            format!(
                "reason must be at most {MAX_REASON_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// Whether `value` has the form of a claim, as the OpenAPI pattern says:
/// three parts, each `*` or 1 to 32 items of 1 to 256 characters of letters,
/// digits and `- _ . / @`. A claim of that form may still be refused for its
/// size (more than 1024 combinations; a list, more than 10000): the server
/// answers that 422, not 400.
pub fn is_claim_form(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            if *part == "*" {
                return true;
            }
            let items: Vec<&str> = part.split(',').collect();
            items.len() <= crate::claims::MAX_PART_ITEMS
                && items.iter().all(|i| {
                    !i.is_empty()
                        && i.len() <= crate::claims::MAX_ITEM_LEN
                        && i.bytes().all(|b| {
                            b.is_ascii_alphanumeric()
                                || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@')
                        })
                })
        })
}

/// A lifetime in seconds against the absolute bounds: positive, and at most
/// [`MAX_TOKEN_LIFETIME_SECS`]. (Org caps and the human-user cap are server
/// settings, checked by the server.)
pub fn check_lifetime(field: &str, secs: i64) -> Result<(), RuleError> {
    if secs <= 0 {
        return Err(RuleError::new(field, "the expiry must be in the future"));
    }
    if secs > MAX_TOKEN_LIFETIME_SECS {
        return Err(RuleError::new(
            field,
            format!(
                "tokens live at most {}",
                format_duration(MAX_TOKEN_LIFETIME_SECS)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive_and_name_the_field() {
        assert!(check_label(&"x".repeat(MAX_LABEL_CHARS)).is_ok());
        assert!(check_label("").is_ok());
        let e = check_label(&"x".repeat(MAX_LABEL_CHARS + 1)).unwrap_err();
        assert_eq!(e.field, "label");
        assert!(e.message.contains("200"), "{e}");
        assert!(check_label("a\nb").is_err());
        // Characters, not bytes.
        assert!(check_description(&"é".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert!(check_description(&"é".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert!(check_identity("").is_err());
        assert!(check_identity(&"é".repeat(MAX_IDENTITY_CHARS)).is_ok());
        assert!(check_identity(&"x".repeat(MAX_IDENTITY_CHARS + 1)).is_err());
        assert!(check_reason("rotated").is_ok());
        assert_eq!(check_reason(&"x".repeat(201)).unwrap_err().field, "reason");
    }

    #[test]
    fn identity_maps_check_service_names_and_values() {
        let ok: BTreeMap<String, String> = [("slack".into(), "U024BE7LH".into())].into();
        assert!(check_identities(&ok).is_ok());
        let bad_service: BTreeMap<String, String> = [("Slack!".into(), "x".into())].into();
        assert_eq!(
            check_identities(&bad_service).unwrap_err().field,
            "identities"
        );
        let bad_value: BTreeMap<String, String> = [("slack".into(), String::new())].into();
        assert_eq!(
            check_identities(&bad_value).unwrap_err().field,
            "identities"
        );
    }

    #[test]
    fn nul_and_sizes_are_refused_with_the_field() {
        assert_eq!(check_no_nul("owner", "a\0b").unwrap_err().field, "owner");
        assert!(check_no_nul("owner", "ab").is_ok());
        assert!(check_description("a\0b").is_err());
        assert!(check_description("two\nlines").is_ok());
        assert!(check_expiry_text("expiry", &"1s".repeat(32)).is_ok());
        assert_eq!(
            check_expiry_text("expiry", &"1s".repeat(33))
                .unwrap_err()
                .field,
            "expiry"
        );
        let many: BTreeMap<String, String> = (0..=MAX_IDENTITIES)
            .map(|i| (format!("s{i}"), "x".to_string()))
            .collect();
        assert_eq!(check_identities(&many).unwrap_err().field, "identities");
    }

    #[test]
    fn lifetimes_are_positive_and_capped() {
        assert!(check_lifetime("expiry", 1).is_ok());
        assert!(check_lifetime("expiry", MAX_TOKEN_LIFETIME_SECS).is_ok());
        assert!(check_lifetime("expiry", 0).is_err());
        let e = check_lifetime("expires_at", MAX_TOKEN_LIFETIME_SECS + 1).unwrap_err();
        assert_eq!(e.field, "expires_at");
        assert!(e.message.contains("at most"), "{e}");
    }
}
