//! Shutdown, in order, within one bound (`--shutdown-timeout` after the
//! signal): the REST and gRPC servers stop first (graceful: requests in
//! flight finish); then every job hears its stop ([`crate::jobs::Jobs::stop`])
//! and does its last work — last uses and use counts written, the leak
//! queue drained, deliveries in flight recorded, the lease given up — and is
//! joined. Past the bound, what still runs is dropped and the process exits
//! (the jobs get at least [`LAST_MOMENT`], so the lease is still given up).

use crate::jobs::Jobs;
use std::time::Duration;
use tokio::time::Instant;

/// What the jobs get when the servers used up the whole bound.
pub const LAST_MOMENT: Duration = Duration::from_millis(500);

/// Waits for the servers to stop (or the bound), then stops the jobs.
pub async fn run<S>(
    serving: S,
    grpc_task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    jobs: Jobs,
    signalled: tokio::sync::oneshot::Receiver<Instant>,
    grace: Duration,
) -> anyhow::Result<()>
where
    S: std::future::IntoFuture<Output = std::io::Result<()>>,
{
    // The servers end only after the signal; its time starts the bound.
    let served = serving.into_future();
    tokio::pin!(served);
    let mut signalled = signalled;
    let at = tokio::select! {
        r = &mut served => {
            r?;
            // Ended without a signal (should not happen): the bound runs from now.
            signalled.try_recv().unwrap_or_else(|_| Instant::now())
        }
        t = &mut signalled => {
            let at = t.unwrap_or_else(|_| Instant::now());
            match tokio::time::timeout_at(at + grace, &mut served).await {
                Ok(r) => r?,
                Err(_) => tracing::warn!(
                    "requests still in flight {grace:?} after the stop signal; exiting anyway"
                ),
            }
            at
        }
    };
    let deadline = at + grace;
    if let Some(t) = grpc_task {
        match tokio::time::timeout_at(deadline.max(Instant::now() + LAST_MOMENT), t).await {
            Ok(r) => r??,
            Err(_) => {
                tracing::warn!("gRPC still serving {grace:?} after the stop signal; exiting anyway")
            }
        }
    }
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(LAST_MOMENT);
    let late = jobs.stop(left).await;
    if !late.is_empty() {
        tracing::warn!(
            jobs = ?late,
            "jobs still running {grace:?} after the stop signal; exiting anyway"
        );
    }
    tracing::info!("shut down");
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
