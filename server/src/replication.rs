//! Revocations across replicas.
//!
//! Every replica checks revocation in the shared database on every
//! authentication (see [`crate::verify_cache`] for why), so a token revoked on
//! one replica is refused by every other at once. What must still travel
//! between replicas is the *news* of a revocation, for two consumers:
//! `WatchRevocations` streams (offline verifiers must learn within a second)
//! and each replica's verification cache.
//!
//! - [`crate::signal::RevocationSignal`] is how a revocation is announced on
//!   this replica: the operations layer sends it after every commit that
//!   revoked something; that empties the verification cache synchronously
//!   (before the revoke call returns) and wakes this replica's watch streams.
//!   This module re-sends it for revocations made by other replicas.
//! - On PostgreSQL, `store::revoke_token` also runs `pg_notify` inside the
//!   revoking transaction, so the notification is delivered exactly when the
//!   revocation commits. [`spawn`] runs a dedicated `PgListener` (the store's
//!   pool is `sqlx::Any`, which cannot LISTEN) that re-announces it locally.
//! - A catch-up loop reads the highest revocation cursor every second and
//!   announces when it moved, so a notification lost to a dropped listener
//!   connection delays the news by at most a second, and never loses it.

use crate::state::AppState;
use crate::store::Backend;
use std::time::Duration;

/// The PostgreSQL channel revocations are announced on.
pub const CHANNEL: &str = "sigil_revocations";

/// How often the catch-up loop reads the revocation table.
pub const CATCH_UP: Duration = Duration::from_secs(1);

/// Signing keys are reloaded every this many catch-up ticks.
const KEY_RELOAD_TICKS: u64 = 5;

/// Starts the PostgreSQL listener (when on PostgreSQL) and the catch-up loop.
pub fn spawn(state: AppState, database_url: String) {
    if state.store.backend == Backend::Postgres {
        tokio::spawn(listen(state.clone(), database_url));
    }
    tokio::spawn(catch_up(state));
}

/// LISTEN on [`CHANNEL`], forever; reconnects with a capped backoff. After a
/// reconnect it announces once, since notifications may have been missed.
async fn listen(state: AppState, url: String) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => {
                    tracing::info!("listening for revocations from other replicas");
                    backoff = Duration::from_millis(200);
                    state.revocations.send();
                    loop {
                        match l.try_recv().await {
                            Ok(Some(_)) => {
                                state.revocations.send();
                            }
                            // The connection was lost; PgListener reconnects on the next call.
                            Ok(None) => {
                                state.revocations.send();
                            }
                            Err(e) => {
                                tracing::warn!("revocation listener failed: {e}");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot LISTEN for revocations: {e}"),
            },
            Err(e) => tracing::warn!("revocation listener cannot connect: {e}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Announces whenever the newest revocation cursor moved since the last look.
/// Also reloads the signing keys every 5 seconds, so a key rotated on
/// another replica is published in this replica's JWKS too.
async fn catch_up(state: AppState) {
    let mut last: Option<i64> = None;
    let mut tick = tokio::time::interval(CATCH_UP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        if n.is_multiple_of(KEY_RELOAD_TICKS) {
            if let Err(e) = state.reload_keys().await {
                tracing::debug!("periodic key reload failed: {e:#}");
            }
        }
        match crate::store::max_revocation_seq(&state.store.pool).await {
            Ok(seq) => {
                if last.is_some_and(|l| l != seq) {
                    state.revocations.send();
                }
                last = Some(seq);
            }
            Err(e) => tracing::debug!("revocation catch-up failed: {e}"),
        }
    }
}
