//! Shared server state: the store, the key ring, the clock, settings, metrics,
//! the revocation signal. It owns them; it knows nothing of HTTP or gRPC.

use crate::clock::Clock;
use crate::domain::keys::{LoadedKey, MasterKey};
use crate::keyring::KeyRing;
use crate::signal::RevocationSignal;
use crate::store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub max_user_token_lifetime: i64,
    pub default_token_lifetime: i64,
    pub auth_failures_per_minute: u32,
    /// Take the client address from the last `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
    /// The org whose principals may administer other orgs.
    pub root_org: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "sigil".into(),
            max_user_token_lifetime: sigil_proto::rules::DEFAULT_MAX_USER_TOKEN_LIFETIME_SECS,
            default_token_lifetime: sigil_proto::rules::DEFAULT_TOKEN_LIFETIME_SECS,
            auth_failures_per_minute: 30,
            trust_forwarded_for: false,
            root_org: "default".into(),
        }
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub store: Store,
    /// Seals what rests encrypted besides signing keys (idempotent answers).
    pub master: MasterKey,
    /// The signing keys; see [`crate::keyring`].
    pub keys: KeyRing,
    pub clock: Clock,
    pub settings: Settings,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// Announces a committed revocation on this replica; see [`crate::signal`].
    pub revocations: RevocationSignal,
    /// SHA-256(token) → verified JWT payload; see [`crate::verify_cache`].
    pub verify_cache: Arc<crate::verify_cache::VerifyCache>,
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
        let verify_cache = Arc::new(crate::verify_cache::VerifyCache::default());
        let keys = KeyRing::load(&store, master.clone(), clock.now()).await?;
        Ok(AppState(Arc::new(Inner {
            store,
            master,
            keys,
            clock,
            settings,
            metrics: Metrics::default(),
            limiter: RateLimiter::default(),
            revocations: RevocationSignal::new(verify_cache.clone()),
            verify_cache,
        })))
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

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub requests: Mutex<HashMap<(String, u16), u64>>,
    pub tokens_issued: AtomicU64,
    pub tokens_revoked: AtomicU64,
    pub auth_failures: Mutex<HashMap<&'static str, u64>>,
}

impl Metrics {
    pub fn inc_request(&self, method: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), status)).or_default() += 1;
        }
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
