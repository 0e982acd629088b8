//! The private state of a `sigil_token`, and adoption after an import.
//!
//! Terraform keeps the private state next to the state, unseen by users, and
//! hands it back to every call. We keep two things there:
//!
//! - when the token was last *read* from the server: rotation is decided
//!   against that time, not against "now" ([`super::rotation`]), so a saved
//!   plan's apply (which re-plans with the same prior and private state)
//!   reaches the same decision;
//! - whether the token was just imported: `expiry` and `keepers` are unknown to
//!   the server, so the first plan after an import *adopts* them from the
//!   configuration (an in-place update of the state) instead of replacing the
//!   token for them. Only that first plan does.

use serde::{Deserialize, Serialize};

use crate::common::now;

/// Private state: what Terraform keeps for us next to the state, unseen by users.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TokenPrivate {
    /// Unix time of the last successful refresh: the "now" rotation is decided against.
    #[serde(default)]
    pub checked_at: Option<i64>,
    /// Set by import: the first plan after it adopts `expiry` and `keepers`
    /// from the configuration instead of replacing the token for them.
    #[serde(default)]
    pub imported: bool,
    /// Refreshes seen since the import: the import's own (1) and the first
    /// plan's (2). A third means that plan was applied, so adoption is over.
    #[serde(default)]
    pub import_reads: u8,
}

impl TokenPrivate {
    /// A token just issued: read now.
    pub fn fresh() -> Self {
        TokenPrivate {
            checked_at: Some(now().unix_timestamp()),
            imported: false,
            import_reads: 0,
        }
    }

    /// A token just imported: adoption starts.
    pub fn imported() -> Self {
        TokenPrivate {
            checked_at: None,
            imported: true,
            import_reads: 0,
        }
    }

    /// Records a successful refresh at `at`.
    ///
    /// An imported token keeps `imported` for the refresh `terraform import`
    /// itself makes and for the one of the first plan after it, so that plan
    /// may adopt `expiry` and `keepers`. A plan's refresh is only kept when the
    /// plan is applied: the next refresh after that ends adoption for good,
    /// whether or not the first plan changed anything.
    pub fn refreshed(mut self, at: i64) -> Self {
        self.checked_at = Some(at);
        if self.imported {
            self.import_reads = self.import_reads.saturating_add(1);
            if self.import_reads > 2 {
                self.imported = false;
                self.import_reads = 0;
            }
        }
        self
    }
}

/// Whether a plan with this private state adopts `expiry` and `keepers` from
/// the configuration (instead of replacing the token for them).
pub fn adopting(p: &Option<TokenPrivate>) -> bool {
    p.as_ref().is_some_and(|p| p.imported)
}

/// The private state after an in-place update was applied: adoption is over.
pub fn updated(p: Option<TokenPrivate>) -> Option<TokenPrivate> {
    let mut p = p.unwrap_or_default();
    p.imported = false;
    p.import_reads = 0;
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::TokenState;
    use super::*;
    use tf_provider::value::Value;
    use tf_provider::AttributePath;

    fn with_keepers(mut s: TokenState) -> TokenState {
        s.keepers = Value::Value(
            [("generation".to_string(), Value::Value("1".to_string()))]
                .into_iter()
                .collect(),
        );
        s
    }

    /// Plans `config` against an imported token whose private state went
    /// through `refreshes` refreshes; the attributes that force a replacement.
    fn plan_after_import(refreshes: usize, config: TokenState) -> Vec<AttributePath> {
        let mut p = TokenPrivate::imported();
        for _ in 0..refreshes {
            p = p.refreshed(now().unix_timestamp());
        }
        plan_update(token_state(), config.clone(), config, Some(p)).0
    }

    #[test]
    fn only_the_first_plan_after_an_import_adopts_keepers() {
        // `terraform import` refreshes once, the first plan once: it adopts.
        assert!(plan_after_import(2, with_keepers(token_state())).is_empty());
        // That plan applied (no changes), the next refresh ends adoption.
        assert_eq!(
            plan_after_import(3, with_keepers(token_state())),
            vec![AttributePath::new("keepers")]
        );
        assert_eq!(
            plan_after_import(7, with_keepers(token_state())),
            vec![AttributePath::new("keepers")]
        );
        // A token that was never imported is never adopted from.
        let mut p = TokenPrivate::fresh();
        for _ in 0..3 {
            p = p.refreshed(now().unix_timestamp());
            assert!(!p.imported);
        }
    }

    #[test]
    fn an_update_ends_adoption() {
        assert!(adopting(&Some(TokenPrivate::imported())));
        assert!(!adopting(&updated(Some(TokenPrivate::imported()))));
        assert!(!adopting(&None));
    }
}
