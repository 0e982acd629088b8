//! Shared server state: the store, the key ring, the clock, settings, metrics,
//! the revocation signal. It owns them; it knows nothing of HTTP or gRPC.

use crate::clock::Clock;
use crate::domain::keys::{LoadedKey, MasterKey};
use crate::replica::deliveries::Deliveries;
use crate::replica::issue_queue::Batcher;
use crate::replica::keyring::KeyRing;
use crate::replica::last_use::LastUse;
use crate::replica::leak_desk::LeakDesk;
use crate::replica::lease::Lease;
use crate::replica::signal::RevocationSignal;
use crate::replica::verify_cache::VerifyCache;
use crate::store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use crate::config::Settings;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub store: Store,
    /// Seals what rests encrypted besides signing keys (idempotent answers).
    pub master: MasterKey,
    /// The signing keys; see [`crate::replica::keyring`].
    pub keys: KeyRing,
    pub clock: Clock,
    pub settings: Settings,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// Announces a committed revocation on this replica; see [`crate::replica::signal`].
    pub revocations: RevocationSignal,
    /// SHA-256(token) → verified JWT payload and resolved principal; see
    /// [`crate::replica::verify_cache`].
    pub verify_cache: Arc<VerifyCache>,
    /// When memory may answer, and what was applied; see [`crate::replica::lease`].
    pub lease: Lease,
    /// Last uses waiting to be written; see [`crate::replica::last_use`].
    pub last_use: LastUse,
    /// Issues waiting for their group commit; see [`crate::replica::issue_queue`].
    pub issues: Batcher,
    /// Leak reports waiting to be processed, and their rate limit; see
    /// [`crate::replica::leak_desk`].
    pub leaks: LeakDesk,
    /// Webhook deliveries: the worker's wake-up, its slots, its counters;
    /// see [`crate::replica::deliveries`].
    pub deliveries: Deliveries,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Loads (or creates) the signing keys and builds the state.
    pub async fn new(
        store: Store,
        master: MasterKey,
        clock: Clock,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let verify_cache = Arc::new(VerifyCache::default());
        let keys = KeyRing::load(&store, master.clone(), clock.now()).await?;
        let lease = Lease::new(settings.lease);
        let deny_private = settings.webhook_deny_private;
        Ok(AppState(Arc::new(Inner {
            issues: Batcher::new(store.backend),
            lease,
            last_use: LastUse::default(),
            store,
            master,
            keys,
            clock,
            settings,
            metrics: Metrics::default(),
            limiter: RateLimiter::default(),
            leaks: LeakDesk::default(),
            deliveries: Deliveries::new(deny_private)?,
            revocations: RevocationSignal::new(verify_cache.clone()),
            verify_cache,
        })))
    }

    /// What the lease protocol reaches ([`crate::replica::Env`]).
    pub fn env(&self) -> crate::replica::Env<'_> {
        crate::replica::Env {
            store: &self.store,
            keys: &self.keys,
            cache: &self.verify_cache,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The key named `kid` (reloading once a second when it is unknown).
    pub async fn key(&self, kid: &str) -> Option<LoadedKey> {
        self.keys.key(&self.store, kid, self.now()).await
    }

    /// The newest key: the one that signs.
    pub fn signing_key(&self) -> Option<LoadedKey> {
        self.keys.signing_key()
    }

    /// Keys that may still verify a live token (the JWKS).
    pub fn published_keys(&self) -> Vec<LoadedKey> {
        self.keys.published(self.now())
    }

    /// Reloads the signing keys from the database.
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        self.keys.reload(&self.store).await
    }
}

/// The methods counted by name; any other is counted as `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER",
];
/// Statuses 100 to 599 each have a counter.
const STATUSES: usize = 500;

/// Counters for `/metrics`.
///
/// Every request bumps one counter, so that path is a relaxed atomic add on
/// a fixed table (method × status), never a lock or an allocation; the
/// `/metrics` handler walks the table and prints the counters that moved.
pub struct Metrics {
    requests: Box<[AtomicU64]>,
    pub tokens_issued: AtomicU64,
    pub tokens_revoked: AtomicU64,
    pub auth_failures: Mutex<HashMap<&'static str, u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: (0..METHODS.len() * STATUSES)
                .map(|_| AtomicU64::new(0))
                .collect(),
            tokens_issued: AtomicU64::new(0),
            tokens_revoked: AtomicU64::new(0),
            auth_failures: Mutex::default(),
        }
    }
}

impl Metrics {
    pub fn inc_request(&self, method: &str, status: u16) {
        let m = METHODS[..METHODS.len() - 1]
            .iter()
            .position(|n| *n == method)
            .unwrap_or(METHODS.len() - 1);
        let s = usize::from(status.clamp(100, 599) - 100);
        self.requests[m * STATUSES + s].fetch_add(1, Ordering::Relaxed);
    }

    /// (method, status, count) of every counter that moved, in order.
    pub fn requests(&self) -> Vec<(&'static str, u16, u64)> {
        self.requests
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let n = n.load(Ordering::Relaxed);
                // `i % STATUSES` < 500, so the status fits a u16.
                let status = 100 + u16::try_from(i % STATUSES).unwrap_or(0);
                (n > 0).then(|| (METHODS[i / STATUSES], status, n))
            })
            .collect()
    }

    pub fn inc_auth_failure(&self, reason: &'static str) {
        if let Ok(mut m) = self.auth_failures.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    pub fn add_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_revoked(&self, n: u64) {
        self.tokens_revoked.fetch_add(n, Ordering::Relaxed);
    }
}

/// Failed authentications per client address in a one-minute window.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<Option<IpAddr>, (i64, u32)>>,
}

impl RateLimiter {
    /// Whether `ip` has used up its failures for the current minute.
    pub fn is_limited(&self, ip: Option<IpAddr>, now: i64, limit: u32) -> bool {
        let Ok(w) = self.windows.lock() else {
            return false;
        };
        matches!(w.get(&ip), Some((start, n)) if now / 60 == *start && *n >= limit)
    }

    pub fn record_failure(&self, ip: Option<IpAddr>, now: i64) {
        if let Ok(mut w) = self.windows.lock() {
            if w.len() > 100_000 {
                w.retain(|_, (start, _)| *start == now / 60);
            }
            let e = w.entry(ip).or_insert((now / 60, 0));
            if e.0 != now / 60 {
                *e = (now / 60, 0);
            }
            e.1 += 1;
        }
    }
}
