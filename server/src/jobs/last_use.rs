//! The last-use flush: every [`FLUSH_EVERY`] writes the last uses and use
//! counts queued in memory ([`crate::replica::last_use`]); on stop writes
//! every one still held, so a clean shutdown loses none.

use super::Stop;
use crate::replica::last_use::FLUSH_EVERY;
use crate::state::AppState;

/// Flushes until `stop`, then flushes everything.
pub async fn run(state: AppState, stop: Stop) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once: nothing is queued yet.
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.stopped() => break,
        }
        state.last_use.flush(&state.store, state.now()).await;
    }
    state.last_use.flush_all(&state.store, state.now()).await;
}
