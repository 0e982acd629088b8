//! Rotation of a `sigil_token` with `rotate_before`.
//!
//! Decided in `plan_update`, once, against the time the token was last *read*
//! (kept in private state by refresh), not against "now". A saved plan's
//! apply re-plans with the same prior and private state, so it reaches the
//! same decision: apply never re-decides a rotation. The plan says why it
//! replaces the token, and warns when the refresh it decides against is old
//! (a plan with `-refresh=false`).

use sigil_proto::duration::format_duration;
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::{TokenPrivate, TokenState};
use crate::common::{parse_rfc3339, rfc3339};

/// A refresh older than this (seconds) makes a rotation decision worth a warning.
pub const STALE_REFRESH: i64 = 24 * 3600;

/// Whether a plan decided at `decided_at` replaces a token expiring at
/// `expires_at` because of `rotate_before`.
pub fn rotation_due(expires_at: i64, rotate_before: i64, decided_at: i64) -> bool {
    decided_at >= expires_at.saturating_sub(rotate_before)
}

/// Validation of a known `rotate_before` window (`window` seconds) against
/// the rest of the configuration: it needs `expiry` (a fixed `expires_at`
/// would be replaced again at once), and must be shorter than it.
pub fn check_window(diags: &mut Diagnostics, c: &TokenState, window: i64, expiry: Option<i64>) {
    if !c.expires_at.is_null() {
        diags.error(
            "rotate_before needs expiry",
            "`rotate_before` cannot be used with a fixed `expires_at`: the new token would \
             expire at the same time and be replaced again. Use `expiry`.",
            AttributePath::new("rotate_before"),
        );
    } else if let Some(e) = expiry.filter(|e| *e <= window) {
        diags.error(
            "rotate_before too long",
            format!(
                "rotate_before ({}) must be shorter than expiry ({}): otherwise every plan \
                 would replace the token.",
                c.rotate_before
                    .as_ref_option()
                    .cloned()
                    .unwrap_or_else(|| format_duration(window)),
                format_duration(e)
            ),
            AttributePath::new("rotate_before"),
        );
    }
}

/// Whether this plan (at `now`) replaces the token `prior` for rotation; it
/// warns why, and when the decision rests on an old refresh.
pub fn rotates(
    diags: &mut Diagnostics,
    prior: &TokenState,
    s: &TokenState,
    private: &Option<TokenPrivate>,
    now: i64,
) -> bool {
    let (Value::Value(rb), Value::Value(exp)) = (&s.rotate_before, &prior.expires_at) else {
        return false;
    };
    let (Ok(window), Some(exp)) = (
        sigil_proto::duration::parse_duration_for("rotate_before", rb),
        parse_rfc3339(exp),
    ) else {
        return false;
    };
    let id = prior.id.as_ref_option().map(String::as_str).unwrap_or("?");
    let decided_at = private.as_ref().and_then(|p| p.checked_at).unwrap_or(now);
    let exp_unix = exp.unix_timestamp();
    if now - decided_at > STALE_REFRESH {
        let since =
            if rotation_due(exp_unix, window, now) && !rotation_due(exp_unix, window, decided_at) {
                ", and by now it is inside the window: this plan does not rotate it, the next \
             refreshed plan will"
            } else {
                ""
            };
        diags.warning(
            "Rotation decided against an old refresh",
            format!(
                "Token {id} was last read from the server at {} ({} ago; a plan with \
                 -refresh=false?): whether it is inside its rotate_before window ({rb}) is \
                 decided against that time, not now{since}. Plan with refresh to decide against \
                 the current time.",
                time::OffsetDateTime::from_unix_timestamp(decided_at)
                    .map(rfc3339)
                    .unwrap_or_default(),
                format_duration(now - decided_at),
            ),
            AttributePath::new("rotate_before"),
        );
    }
    if !rotation_due(exp_unix, window, decided_at) {
        return false;
    }
    let left = exp_unix - decided_at;
    diags.warning(
        "Token rotation planned",
        format!(
            "Token {id} expires at {} ({}), inside its rotate_before window ({rb}): this plan \
             replaces it with a new token.",
            rfc3339(exp),
            if left > 0 {
                format!("in {}", format_duration(left))
            } else {
                "now".into()
            },
        ),
        AttributePath::new("rotate_before"),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::common::now;

    #[test]
    fn a_rotation_decided_against_an_old_refresh_warns() {
        let plan = |checked_ago: i64| {
            let mut s = token_state();
            s.expiry = Value::Value("100d".into());
            s.rotate_before = Value::Value("1d".into());
            let p = TokenPrivate {
                checked_at: Some(now().unix_timestamp() - checked_ago),
                ..TokenPrivate::default()
            };
            // `expires_at` is computed from `expiry`: not in the configuration.
            let config = TokenState {
                expires_at: Value::Null,
                ..s.clone()
            };
            let (_, diags) = plan_update(s.clone(), s, config, Some(p));
            diags
                .warnings
                .iter()
                .map(|d| d.summary.to_string())
                .collect::<Vec<_>>()
        };
        assert!(plan(60).is_empty());
        assert_eq!(
            plan(2 * 24 * 3600),
            vec!["Rotation decided against an old refresh".to_string()]
        );
    }

    #[test]
    fn rotation_window() {
        let exp = 1_000_000;
        assert!(!rotation_due(exp, 3600, exp - 7200));
        assert!(rotation_due(exp, 3600, exp - 3600));
        assert!(rotation_due(exp, 3600, exp - 10));
        assert!(rotation_due(exp, 3600, exp + 10));
    }

    #[test]
    fn inside_the_window_the_plan_replaces_the_token_and_says_why() {
        let mut prior = token_state();
        prior.expiry = Value::Value("100d".into());
        prior.rotate_before = Value::Value("30d".into());
        prior.expires_at = Value::Value(rfc3339(now() + time::Duration::days(10)));
        let config = TokenState {
            expires_at: Value::Null,
            ..prior.clone()
        };
        let (replace, diags) = plan_update(prior.clone(), prior, config, None);
        assert_eq!(replace, vec![AttributePath::new("expires_at")]);
        assert_eq!(diags.warnings[0].summary, "Token rotation planned");
    }
}
