//! The lease: when this replica may answer authentication from memory, and
//! how a change waits until no replica can answer from a stale view.
//!
//! # The protocol (the argument is in `docs/verification.md`)
//! - **Changes are numbered.** Triggers (migration `0002_leases.sql`) bump
//!   `change_head.seq` inside every transaction that changes what the memory
//!   view holds: a token revoked, its expiry or claims changed; a principal
//!   renamed, re-permissioned or deleted; an org or app renamed or deleted; a
//!   signing key added or deleted. The head row's lock makes changing
//!   transactions commit in `seq` order. Nothing an operation does can skip
//!   it: the database does it.
//! - **Applying** change `s` (learned committed) empties the view
//!   ([`super::verify_cache::VerifyCache::clear`], which also bumps the epoch
//!   that keeps in-flight database reads out), reloads the key ring when keys
//!   changed, then raises `applied` to `s` and acknowledges it in the
//!   replica's lease row.
//! - **Leases.** Every [`RENEW_EVERY`] (the job [`crate::jobs::lease`]) the replica writes its lease row, then
//!   reads the head `h`, applies it, and only then trusts its memory until
//!   `I0 + TRUST` on its monotonic clock, where `I0` was read *before* the
//!   renewal was sent and `TRUST` < [`Lease::duration`]. A replica that cannot
//!   renew stops trusting its memory when that runs out, and reads the
//!   database (which, unreachable, fails closed).
//! - **A change returns late enough.** [`Uow::commit`](crate::ops::Uow::commit)
//!   reads the head inside its transaction, commits, applies locally, then
//!   waits ([`Lease::await_acks`]) until every other replica that renewed
//!   recently has acknowledged `s`, or until `duration` has passed on its own
//!   monotonic clock since the commit: by then every lease granted before the
//!   commit has run out on its holder, and every lease granted after it was
//!   installed only after applying a head `>= s`.
//! - News travels by PostgreSQL `NOTIFY sigil_changes` (sent by the
//!   triggers, delivered at commit) to each replica's listener
//!   ([`crate::jobs::peers`]), so acknowledgements normally take a
//!   millisecond; the renewal is the fallback when a notification is lost,
//!   and the lease expiry when a replica is stopped or partitioned.
//!
//! Bounds: a change waits for at most `duration` (2 s) plus one poll; it
//! waits that long only when a replica stopped renewing within the last
//! [`RECENT`] (crashed, stopped, partitioned). Timing uses tokio's clock, so
//! `tokio::time::pause()` drives it in tests.

use super::Env;
use crate::store;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How often the lease is renewed (a quarter of the default duration).
pub const RENEW_EVERY: Duration = Duration::from_millis(500);
/// The default lease duration.
pub const DEFAULT_DURATION: Duration = crate::config::DEFAULT_LEASE;
/// Lease rows renewed longer ago than this (database clock) are not waited
/// for: their replica crashed or stopped long ago, and its lease ran out.
pub const RECENT: Duration = Duration::from_secs(10);
/// Lease rows older than this are deleted.
pub const FORGET: Duration = Duration::from_secs(3600);

/// This replica's lease and what it has applied; see the module documentation.
pub struct Lease {
    /// This replica's name in the `leases` table.
    pub replica: String,
    /// How long a lease lasts: changes wait at most this long for a replica.
    pub duration: Duration,
    base: Instant,
    /// Nanoseconds after `base` until which memory may be trusted (0: never).
    valid_until: AtomicU64,
    applied: AtomicI64,
    keys_applied: AtomicI64,
    /// Serializes applies, so `applied` is raised only after its clear.
    applying: tokio::sync::Mutex<()>,
}

impl Lease {
    pub fn new(duration: Duration) -> Self {
        Lease {
            replica: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            duration,
            base: Instant::now(),
            valid_until: AtomicU64::new(0),
            applied: AtomicI64::new(0),
            keys_applied: AtomicI64::new(0),
            applying: tokio::sync::Mutex::new(()),
        }
    }

    /// How long memory is trusted after a renewal was *sent*: 90% of the
    /// lease, so a 10% difference in clock rates between replicas is absorbed.
    fn trust(&self) -> Duration {
        self.duration * 9 / 10
    }

    fn since_base(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether memory may answer now: the lease is live and every change up
    /// to its renewal was applied (installed only then).
    pub fn fresh(&self) -> bool {
        self.since_base(Instant::now()) < self.valid_until.load(Ordering::Acquire)
    }

    /// Stops trusting memory at once: shutdown, a failed renewal, the
    /// database found unreachable (`/readyz`, gRPC health).
    pub fn lapse(&self) {
        self.valid_until.store(0, Ordering::Release);
    }

    /// The newest change applied here.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Applies the committed head `(seq, keys_seq)`: empties the view (and
    /// reloads the keys when they changed) before raising `applied`. Returns
    /// whether anything was new.
    pub async fn apply(&self, env: &Env<'_>, (seq, keys_seq): (i64, i64)) -> bool {
        if seq <= self.applied() {
            return false;
        }
        let _one = self.applying.lock().await;
        if seq <= self.applied() {
            return false;
        }
        if keys_seq > self.keys_applied.load(Ordering::Acquire) {
            // Freshness only: a deleted key is refused on a database read
            // anyway, and the view (the only path that skips the ring's
            // check) is emptied below.
            match env.keys.reload(env.store).await {
                Ok(()) => {
                    self.keys_applied.fetch_max(keys_seq, Ordering::AcqRel);
                }
                Err(e) => tracing::warn!("reloading signing keys after a change failed: {e:#}"),
            }
        }
        env.cache.clear();
        self.applied.fetch_max(seq, Ordering::AcqRel);
        true
    }

    /// Reads the head, applies it, acknowledges it: what a notification of a
    /// change triggers.
    pub async fn catch_up(&self, env: &Env<'_>) -> Result<(), store::StoreError> {
        let head = {
            let mut c = env.store.pool.acquire().await?;
            store::change_head(&mut c).await?
        };
        if self.apply(env, head).await {
            store::ack_lease(&env.store.pool, &self.replica, self.applied()).await?;
        }
        Ok(())
    }

    /// Renews the lease: writes the row, reads the head, applies it, then
    /// trusts memory until `I0 + trust`, `I0` taken before anything was sent.
    ///
    /// A renewal that fails drops the lease at once: this replica cannot
    /// prove it is up to date, so it reads the database (and fails closed
    /// without one) until a renewal succeeds again.
    pub async fn renew(&self, env: &Env<'_>) -> Result<(), store::StoreError> {
        let i0 = Instant::now();
        let read = async {
            let mut c = env.store.pool.acquire().await?;
            store::renew_lease(&mut c, &self.replica, self.applied()).await?;
            store::change_head(&mut c).await
        };
        let head = match read.await {
            Ok(head) => head,
            Err(e) => {
                self.lapse();
                return Err(e);
            }
        };
        if self.apply(env, head).await {
            store::ack_lease(&env.store.pool, &self.replica, self.applied()).await?;
        }
        let until = self.since_base(i0 + self.trust());
        self.valid_until.fetch_max(until, Ordering::AcqRel);
        Ok(())
    }

    /// After a commit whose transaction read head `head` while this replica
    /// had applied `applied_before`: applies it here and, when it may be the
    /// transaction's own change, waits until every other replica with a recent
    /// lease acknowledged it, or `duration` passed since the commit (every
    /// lease granted before the commit has then run out on its holder).
    ///
    /// `applied_before` is read before the commit: a notification may apply
    /// the change here before this runs, so `applied` now would not tell.
    pub async fn publish(&self, env: &Env<'_>, head: (i64, i64), applied_before: i64) {
        let committed = Instant::now();
        if head.0 <= applied_before {
            // Not this transaction's change: its own would be newer than
            // anything applied before it committed.
            return;
        }
        if self.apply(env, head).await {
            let _ = store::ack_lease(&env.store.pool, &self.replica, self.applied()).await;
        }
        self.await_acks(env, head.0, committed).await;
    }

    /// Waits until no other replica may serve a view older than change `seq`.
    pub async fn await_acks(&self, env: &Env<'_>, seq: i64, committed: Instant) {
        let deadline = committed + self.duration;
        let recent = i64::try_from(RECENT.as_millis()).unwrap_or(i64::MAX);
        let mut pause = Duration::from_millis(1);
        loop {
            match store::peer_leases(
                &env.store.pool,
                env.store.backend,
                &self.replica,
                seq,
                recent,
            )
            .await
            {
                Ok(waiting) if waiting.is_empty() => return,
                Ok(waiting) => tracing::debug!(seq, ?waiting, "waiting for replicas"),
                // Cannot tell who acknowledged: the deadline still holds.
                Err(e) => tracing::debug!("reading leases failed: {e}"),
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}
