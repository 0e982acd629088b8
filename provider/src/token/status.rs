//! A token the refresh found no longer `active` (revoked, expired,
//! exhausted): why the plan replaces it, in the plan's words.

use super::*;

/// Why a token the refresh found no longer `active` is replaced: the plan's
/// warning (summary, detail), or `None` for a live token (or one never read).
pub(super) fn dead(prior: &TokenState) -> Option<(String, String)> {
    let status = prior.status.as_ref_option()?;
    let status = TokenStatus::parse(status).ok()?;
    let id = Uuid::parse_str(prior.id.as_ref_option()?).ok()?;
    let name = grace::token_name(prior.label.as_ref_option().map(String::as_str), id);
    let (why, detail) = match status {
        TokenStatus::Active => return None,
        TokenStatus::Revoked => {
            let reason = prior.revoked_reason.as_ref_option();
            (
                reason.map(|r| format!(" ({r})")).unwrap_or_default(),
                format!(
                    "The server reports it revoked{}: a revoked token is refused everywhere and \
                     can never be used again.",
                    reason
                        .map(|r| format!(" with the reason {r:?}"))
                        .unwrap_or_default()
                ),
            )
        }
        TokenStatus::Expired => {
            let at = prior.expires_at.as_ref_option();
            (
                at.map(|a| format!(" (at {a})")).unwrap_or_default(),
                "Its expiry has passed: the server refuses it.".to_string(),
            )
        }
        TokenStatus::Exhausted => {
            let of = match (&prior.uses, &prior.max_uses) {
                (Value::Value(u), Value::Value(m)) => format!(" ({u} of {m} uses)"),
                _ => String::new(),
            };
            (
                of,
                "It has used every use its max_uses allows: the server refuses it.".to_string(),
            )
        }
    };
    Some((
        format!("Token {name} is {status}{why}; it will be replaced"),
        format!(
            "{detail} This plan issues a new token in its place; the old one stays viewable \
             (sigil tokens view {id}) with its status."
        ),
    ))
}
