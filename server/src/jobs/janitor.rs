//! The janitor: hourly, drops expired Idempotency-Key answers (sealed JWTs),
//! so none rests past its 24h window even when no further keyed issue comes
//! along; and webhook events and delivery logs past 30 days.

use super::Stop;
use crate::state::AppState;
use crate::store;

/// How often the janitor runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs [`sweep`] every [`EVERY`] until `stop`.
pub async fn run(state: AppState, stop: Stop) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.stopped() => return,
        }
        sweep(&state).await;
    }
}

/// One sweep.
pub async fn sweep(state: &AppState) {
    let before = state.now() - crate::ops::tokens::IDEMPOTENCY_WINDOW;
    if let Err(e) = store::expire_idempotent(&state.store.pool, before).await {
        tracing::warn!("expiring idempotency keys failed: {e}");
    }
    let before = state.now() - store::DELIVERY_LOG_RETENTION;
    if let Err(e) = store::prune_deliveries(&state.store.pool, before).await {
        tracing::warn!("pruning the webhook delivery log failed: {e}");
    }
}
