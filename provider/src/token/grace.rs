//! What a destroy with `grace_period` tells the user, and when.
//!
//! Destroying a token with `grace_period` shortens its expiry instead of
//! revoking it, and the user is told how long it stays valid. That is only
//! true if its bot outlives the run: deleting a bot revokes all of its tokens,
//! and `terraform destroy` destroys the token first (it depends on the bot)
//! and the bot right after, in the same run.
//!
//! When the token is destroyed, nothing tells the provider what happens to the
//! bot next: Terraform 1.0 plans destroys without the provider, the destroy
//! call carries only the token's prior state, and each walk (plan, apply)
//! runs its own provider process. Nor is there a call after the last destroy
//! in which to speak (Terraform only closes the provider). So the warning is
//! given where it is known to be true, from what this process (one apply)
//! saw, kept in a [`GraceLog`]:
//!
//! - a token was issued for the same bot earlier in the run (a replacement
//!   with `create_before_destroy`): the new token depends on the bot, so the
//!   bot outlives the run, and the destroy warns at once;
//! - otherwise the shortening waits, and a token issued for the same bot
//!   later in the run (a replacement, destroyed then created) gives the
//!   warning then;
//! - a bot deleted later in the run revokes the token: the waiting entry is
//!   never spoken, so no run that deletes the bot promises the token a
//!   validity it no longer has. A token destroyed on its own (removed from the
//!   configuration) is in that case too: the provider cannot tell it from
//!   `terraform destroy` of both, so it says nothing, and the docs say what
//!   `grace_period` does on destroy.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::rfc3339;

/// A token whose destroy shortened its expiry.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortened {
    pub id: Uuid,
    pub label: Option<String>,
    /// Its bot, when the state names it by id.
    pub bot: Option<Uuid>,
    pub expires_at: OffsetDateTime,
    /// The `grace_period` as written.
    pub grace: String,
}

#[derive(Default)]
struct Seen {
    /// Bots a token was issued for in this run: they outlive it.
    issued_for: HashSet<Uuid>,
    /// Shortenings not spoken of yet: their bot's fate is unknown.
    waiting: Vec<Shortened>,
}

/// What this provider process (one Terraform walk) saw of issues and
/// shortenings, shared by every call (the provider's `Api` holds it).
#[derive(Default)]
pub struct GraceLog(Mutex<Seen>);

impl GraceLog {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A token was issued for `bot`: the shortenings of that bot's tokens
    /// that waited, now known to hold (the caller warns about them).
    pub fn issued(&self, bot: Uuid) -> Vec<Shortened> {
        let mut seen = self.seen();
        seen.issued_for.insert(bot);
        let (now, wait) = std::mem::take(&mut seen.waiting)
            .into_iter()
            .partition(|s| s.bot == Some(bot));
        seen.waiting = wait;
        now
    }

    /// A destroy shortened a token: `Some` when the warning holds now (a token
    /// was issued for its bot in this run), else it waits.
    pub fn shortened(&self, s: Shortened) -> Option<Shortened> {
        let mut seen = self.seen();
        if s.bot.is_some_and(|b| seen.issued_for.contains(&b)) {
            return Some(s);
        }
        seen.waiting.push(s);
        None
    }
}

/// How messages name a token: `"ci" (id …)` with its label, else its id.
pub fn token_name(label: Option<&str>, id: Uuid) -> String {
    match label.filter(|l| !l.is_empty()) {
        Some(l) => format!("{l:?} (id {id})"),
        None => id.to_string(),
    }
}

/// The warning about a shortened token whose bot outlives the run.
pub fn warning(s: &Shortened) -> (String, String) {
    (
        format!(
            "Token {} stays valid until {}",
            token_name(s.label.as_deref(), s.id),
            rfc3339(s.expires_at)
        ),
        format!(
            "Its grace_period ({}) shortened its expiry instead of revoking it, so that jobs \
             holding it can finish. Revoke it (sigil tokens revoke {}) to end it sooner.",
            s.grace, s.id
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortened(id: u128, bot: u128) -> Shortened {
        Shortened {
            id: Uuid::from_u128(id),
            label: Some("ci".into()),
            bot: Some(Uuid::from_u128(bot)),
            expires_at: time::macros::datetime!(2030-01-01 00:00 UTC),
            grace: "1h".into(),
        }
    }

    #[test]
    fn a_shortening_is_spoken_of_only_once_its_bot_is_known_to_live() {
        // terraform destroy of token and bot: nothing is ever issued, so the
        // shortening is never spoken of (the bot's deletion revokes it).
        let log = GraceLog::default();
        assert_eq!(log.shortened(shortened(1, 10)), None);

        // Replacement, destroy then create: the new token's issue speaks.
        let log = GraceLog::default();
        assert_eq!(log.shortened(shortened(1, 10)), None);
        assert_eq!(log.shortened(shortened(2, 11)), None);
        assert_eq!(log.issued(Uuid::from_u128(10)), vec![shortened(1, 10)]);
        assert!(log.issued(Uuid::from_u128(10)).is_empty(), "said once");

        // create_before_destroy: the new token first, then the destroy warns at once.
        let log = GraceLog::default();
        assert!(log.issued(Uuid::from_u128(10)).is_empty());
        assert_eq!(log.shortened(shortened(1, 10)), Some(shortened(1, 10)));
        assert_eq!(log.shortened(shortened(2, 11)), None, "another bot");
    }

    #[test]
    fn the_warning_names_the_token_its_end_and_its_grace() {
        let (summary, detail) = warning(&shortened(1, 10));
        assert_eq!(
            summary,
            format!(
                "Token \"ci\" (id {}) stays valid until 2030-01-01T00:00:00Z",
                Uuid::from_u128(1)
            )
        );
        assert!(detail.contains("grace_period (1h)"), "{detail}");
        assert_eq!(token_name(None, Uuid::nil()), Uuid::nil().to_string());
    }
}
