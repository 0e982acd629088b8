//! Peer news, the job: news between replicas: changes (for each replica's memory view) and
//! revocations (for `WatchRevocations` streams).
//!
//! - **Changes.** Authentication answers warm tokens from memory under a
//!   lease ([`crate::replica::lease`]); triggers number every change and send `NOTIFY
//!   sigil_changes` in the changing transaction (delivered at commit). The
//!   listener here applies and acknowledges it at once, which is what lets
//!   the change's caller return within milliseconds. Correctness does not
//!   depend on it: a replica whose notification is lost applies the change at
//!   its next lease renewal (every 500 ms), and the caller waits at most for
//!   the replica's lease to run out.
//! - **Revocations.** [`crate::replica::signal::RevocationSignal`] wakes this
//!   replica's watch streams: the operations layer sends it after every
//!   commit that revoked something, and this module re-sends it for
//!   revocations made by other replicas. `store::revoke_token` runs
//!   `NOTIFY sigil_revocations` inside the revoking transaction.
//! - One dedicated `PgListener` connection (the store's pool is `sqlx::Any`,
//!   which cannot LISTEN) LISTENs on both channels; its `application_name` is
//!   `sigil-listener-<pid>`. After a reconnect it catches up once, since
//!   notifications may have been missed.
//! - A catch-up loop reads the highest revocation cursor every second and
//!   announces when it moved, so a notification lost to a dropped listener
//!   connection delays watchers by at most a second, and never loses news.

use super::Stop;
use crate::state::AppState;
use crate::store::Backend;
use std::time::Duration;

/// The PostgreSQL channel revocations are announced on.
pub const CHANNEL: &str = "sigil_revocations";

/// The PostgreSQL channel the change triggers notify (migration 0002).
pub const CHANGES: &str = "sigil_changes";

/// How often the catch-up loop reads the revocation table.
pub const CATCH_UP: Duration = Duration::from_secs(1);

/// Signing keys are reloaded every this many catch-up ticks.
const KEY_RELOAD_TICKS: u64 = 5;

/// Runs the PostgreSQL listener (when on PostgreSQL) and the catch-up loop
/// until `stop`.
pub async fn run(state: AppState, database_url: String, stop: Stop) {
    let listening = async {
        if state.store.backend == Backend::Postgres {
            listen(state.clone(), database_url).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = listening => {}
        () = catch_up(state.clone()) => {}
        () = stop.stopped() => {}
    }
}

/// The listener connection's `application_name`: operators (and tests) find
/// it in `pg_stat_activity` by the process id.
pub fn listener_application_name() -> String {
    format!("sigil-listener-{}", std::process::id())
}

async fn connect_listener(url: &str) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    use std::str::FromStr;
    let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
        .application_name(&listener_application_name());
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    sqlx::postgres::PgListener::connect_with(&pool).await
}

/// Applies and acknowledges the newest change (see [`crate::replica::lease`]).
async fn catch_up_changes(state: &AppState) {
    if let Err(e) = state.lease.catch_up(&state.env()).await {
        tracing::debug!("applying changes failed: {e}");
    }
}

/// LISTEN on [`CHANNEL`] and [`CHANGES`], forever; reconnects with a capped
/// backoff. After a (re)connect it catches up once, since notifications may
/// have been missed.
async fn listen(state: AppState, url: String) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match connect_listener(&url).await {
            Ok(mut l) => match l.listen_all([CHANNEL, CHANGES]).await {
                Ok(()) => {
                    tracing::info!(
                        "listening for revocations from other replicas, and for changes"
                    );
                    backoff = Duration::from_millis(200);
                    catch_up_changes(&state).await;
                    state.revocations.send();
                    loop {
                        match l.try_recv().await {
                            Ok(Some(n)) if n.channel() == CHANGES => {
                                catch_up_changes(&state).await;
                            }
                            Ok(Some(_)) => {
                                state.revocations.send();
                            }
                            // The connection was lost; PgListener reconnects on the next call.
                            Ok(None) => {
                                tracing::info!("listener connection lost; reconnecting");
                                catch_up_changes(&state).await;
                                state.revocations.send();
                            }
                            Err(e) => {
                                tracing::warn!("listener failed: {e}");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot LISTEN for changes: {e}"),
            },
            Err(e) => tracing::warn!("listener cannot connect: {e}"),
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
