//! gRPC health: every 2 s, whether the database answers; the gRPC health
//! status follows (NOT_SERVING while it is unreachable, logged once).

use super::Stop;
use crate::state::AppState;
use std::time::Duration;
use tonic_health::server::HealthReporter;

/// How often the database is probed.
pub const EVERY: Duration = Duration::from_secs(2);

/// Probes until `stop`.
pub async fn run(state: AppState, mut reporter: HealthReporter, stop: Stop) {
    let mut serving = true;
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = stop.stopped() => return,
        }
        let ok = crate::ops::health::ready(&state).await.is_ok();
        if ok != serving {
            serving = ok;
            if !ok {
                tracing::warn!("database unreachable: gRPC health is NOT_SERVING");
            }
            crate::grpc::set_health(&mut reporter, ok).await;
        }
    }
}
