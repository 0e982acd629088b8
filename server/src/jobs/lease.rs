//! Lease renewal: every [`RENEW_EVERY`] this replica renews its lease (so
//! memory may answer; see [`crate::replica::lease`]) and, every minute,
//! forgets lease rows of replicas long gone. On stop it stops trusting its
//! memory and gives the lease up, so no change waits for it.

use super::Stop;
use crate::replica::lease::{FORGET, RENEW_EVERY};
use crate::state::AppState;
use crate::store;

/// Lease rows of gone replicas are deleted every this many renewals.
const FORGET_EVERY_TICKS: u64 = 120;

/// Renews the lease until `stop`, then gives it up.
pub async fn run(state: AppState, stop: Stop) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.stopped() => break,
        }
        n += 1;
        match state.lease.renew(&state.env()).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("lease renewed: verifying from memory again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("cannot renew the lease, verifying from the database: {e}");
            }
            Err(_) => {}
        }
        if n.is_multiple_of(FORGET_EVERY_TICKS) {
            let forget = i64::try_from(FORGET.as_millis()).unwrap_or(i64::MAX);
            let _ = store::forget_old_leases(&state.store.pool, state.store.backend, forget).await;
        }
    }
    give_up(&state).await;
}

/// Starts the renewal alone (tests), until `stop`.
pub fn spawn(state: AppState, stop: Stop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state, stop))
}

/// On stop: stop trusting memory, give the lease up.
pub async fn give_up(state: &AppState) {
    state.lease.lapse();
    if let Err(e) = store::drop_lease(&state.store.pool, &state.lease.replica).await {
        tracing::debug!("giving the lease up failed: {e}");
    }
}
