//! Readiness and the published keys: what `/readyz`, gRPC health and
//! `/.well-known/jwks.json` answer. No caller, no transaction.

use super::Result;
use crate::domain::keys::LoadedKey;
use crate::error::ApiError;
use crate::state::AppState;

/// Whether the database answers: `/readyz` and gRPC health. Any failure
/// is `unavailable` (503): the replica is not ready, whatever the cause.
///
/// A replica that finds its database unreachable also stops answering from
/// memory at once ([`crate::replica::lease::Lease::lapse`]): it can no longer prove it
/// is up to date, so it fails closed.
pub async fn ready(state: &AppState) -> Result<()> {
    state.store.ping().await.map_err(|e| {
        state.lease.lapse();
        ApiError::unavailable(e)
    })
}

/// Keys that may still verify a live token: the JWKS.
pub fn published_keys(state: &AppState) -> Vec<LoadedKey> {
    state.published_keys()
}
