//! What follows a commit, written once: the key ring's horizon and the
//! metrics for issued tokens, the revocation signal, the delivery worker's
//! wake-up, the key ring's reload. Collected while a transaction runs,
//! run only once it committed — by [`super::Uow::commit`] and by the issue
//! group commit (`tokens/group_commit.rs`), which commits many issues in one
//! transaction of its own.
//!
//! The memory views of every replica are emptied by the commit itself (the
//! change triggers and [`crate::replica::lease`]), not here.

use super::Result;
use crate::error::ApiError;
use crate::state::AppState;

/// See the module documentation.
#[derive(Default)]
pub struct AfterCommit {
    /// Tokens revoked: metrics, and `WatchRevocations` streams woken.
    pub revoked: u64,
    /// Tokens issued, by signing key and expiry: the ring's horizon, metrics.
    pub issued: Vec<(String, i64)>,
    /// A signing key was added: the ring reloads.
    pub keys_rotated: bool,
    /// Deliveries written with the events (the worker wakes when any were).
    pub deliveries: usize,
}

impl AfterCommit {
    /// Runs every step; call only after the transaction committed.
    pub async fn run(self, state: &AppState) -> Result<()> {
        for (kid, exp) in &self.issued {
            state.keys.note_use(kid, *exp);
            state.metrics.add_issued();
        }
        if self.revoked > 0 {
            state.metrics.add_revoked(self.revoked);
            state.revocations.send();
        }
        if self.deliveries > 0 {
            state.deliveries.wake();
        }
        if self.keys_rotated {
            state.reload_keys().await.map_err(ApiError::internal)?;
        }
        Ok(())
    }
}
