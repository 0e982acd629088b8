//! Background jobs: every loop a replica runs besides serving requests, one
//! file each, started together by [`start`] and stopped together.
//!
//! | job | file | what |
//! |---|---|---|
//! | `lease` | [`lease`] | renews the lease every 500 ms; on stop gives it up |
//! | `last-use` | [`last_use`] | writes queued last uses and use counts; on stop writes all |
//! | `peers` | [`peers`] | LISTEN for other replicas' changes and revocations, and the catch-up |
//! | `delivery` | [`delivery`] | webhook deliveries; on stop waits for attempts in flight |
//! | `expiry` | [`expiry`] | `token.expiring`/`token.expired` warnings |
//! | `janitor` | [`janitor`] | expired idempotency answers, old delivery logs |
//! | `leaks` | [`leaks`] | on stop, drains the leak-report queue |
//! | `grpc-health` | [`grpc_health`] | gRPC health follows the database |
//!
//! # Adding a job
//! A file here with `pub async fn run(state: AppState, stop: Stop)` that
//! returns soon after [`Stop::stopped`] (select on it next to the loop's
//! tick) and does its last work before returning; one line in [`start`].
//! Nothing else spawns a loop. What a job keeps in memory between ticks
//! belongs to the replica ([`crate::replica`]), not to the job.
//!
//! # Stopping
//! `sigil server` stops the REST and gRPC servers first (so no request
//! records a use or a report after the jobs' last write), then calls
//! [`Jobs::stop`]: one signal every job hears at once, joined within what is
//! left of `--shutdown-timeout`. A job still running past it is aborted and
//! named in the log.
//!
//! Trade-off: the gRPC server is not a job. It is served next to REST by
//! `crate::serve`, on the servers' stop signal, because a job must not keep
//! answering after the servers stopped.

pub mod delivery;
pub mod expiry;
pub mod grpc_health;
pub mod janitor;
pub mod last_use;
pub mod leaks;
pub mod lease;
pub mod peers;

use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The one stop signal of the jobs: cloned into each; [`Stop::stop`] tells
/// them all.
#[derive(Clone)]
pub struct Stop(Arc<watch::Sender<bool>>);

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    pub fn new() -> Self {
        Stop(Arc::new(watch::channel(false).0))
    }

    /// Tells every holder to stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once [`Stop::stop`] was called (at once if it was).
    pub async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// The running jobs: their names and handles, and the signal that stops them.
pub struct Jobs {
    stop: Stop,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

/// Starts every job of this replica (`grpc_health`: the reporter of the
/// gRPC health service, from [`crate::grpc::routes`]).
pub fn start(
    state: &AppState,
    database_url: &str,
    grpc_health: tonic_health::server::HealthReporter,
) -> Jobs {
    let stop = Stop::new();
    let mut tasks = Vec::new();
    let mut add = |name, task| tasks.push((name, tokio::spawn(task)));
    add(
        "lease",
        Box::pin(lease::run(state.clone(), stop.clone())) as Job,
    );
    add(
        "last-use",
        Box::pin(last_use::run(state.clone(), stop.clone())),
    );
    add(
        "peers",
        Box::pin(peers::run(
            state.clone(),
            database_url.to_string(),
            stop.clone(),
        )),
    );
    add(
        "delivery",
        Box::pin(delivery::run(state.clone(), stop.clone())),
    );
    add("expiry", Box::pin(expiry::run(state.clone(), stop.clone())));
    add(
        "janitor",
        Box::pin(janitor::run(state.clone(), stop.clone())),
    );
    add("leaks", Box::pin(leaks::run(state.clone(), stop.clone())));
    add(
        "grpc-health",
        Box::pin(grpc_health::run(state.clone(), grpc_health, stop.clone())),
    );
    Jobs { stop, tasks }
}

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl Jobs {
    /// The signal the jobs hear.
    pub fn signal(&self) -> Stop {
        self.stop.clone()
    }

    /// Tells every job to stop and joins them within `bound`; answers the
    /// names of those that did not finish in time (aborted).
    pub async fn stop(self, bound: Duration) -> Vec<&'static str> {
        self.stop.stop();
        let deadline = tokio::time::Instant::now() + bound;
        let mut late = Vec::new();
        for (name, mut task) in self.tasks {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(job = name, "job failed: {e}"),
                Err(_) => {
                    task.abort();
                    late.push(name);
                }
            }
        }
        late
    }
}
