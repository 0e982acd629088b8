//! Shared server state: the store, the key ring, the clock, settings, metrics.

use crate::clock::Clock;
use crate::domain::keys::{generate_signing_key, KeyError, LoadedKey, MasterKey};
use crate::store::{self, KeyRow, Store};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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
            max_user_token_lifetime: 24 * 3600,
            default_token_lifetime: 90 * 86_400,
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
    pub master: MasterKey,
    pub keys: RwLock<Vec<LoadedKey>>,
    last_key_reload: Mutex<i64>,
    pub clock: Clock,
    pub settings: Settings,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// Announces a committed revocation on this replica: empties the
    /// verification cache and wakes revocation watchers (gRPC WatchRevocations).
    pub revocations: crate::replication::RevocationSignal,
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
        let state = AppState(Arc::new(Inner {
            store,
            master,
            keys: RwLock::new(Vec::new()),
            last_key_reload: Mutex::new(i64::MIN),
            clock,
            settings,
            metrics: Metrics::default(),
            limiter: RateLimiter::default(),
            revocations: crate::replication::RevocationSignal::new(verify_cache.clone()),
            verify_cache,
        }));
        let mut conn = state.store.pool.acquire().await?;
        if store::all_keys(&mut conn).await?.is_empty() {
            state.insert_new_key(&mut conn).await?;
        }
        drop(conn);
        state.reload_keys().await?;
        Ok(state)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Generates a signing key and stores it (private half sealed).
    pub async fn insert_new_key(&self, conn: &mut sqlx::AnyConnection) -> anyhow::Result<String> {
        let k = generate_signing_key(&self.master)?;
        store::insert_key(
            conn,
            &KeyRow {
                kid: k.kid.clone(),
                public_key: k.public_x,
                private_key_enc: k.private_sealed,
                created_at: self.now(),
                max_token_exp: 0,
            },
        )
        .await?;
        Ok(k.kid)
    }

    /// Reloads every key from the database. Fails when the master key is wrong.
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        let mut conn = self.store.pool.acquire().await?;
        let rows = store::all_keys(&mut conn).await?;
        let loaded = rows
            .iter()
            .map(|r| {
                LoadedKey::load(
                    &self.master,
                    &r.kid,
                    &r.public_key,
                    &r.private_key_enc,
                    r.created_at,
                    r.max_token_exp,
                )
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        if let Ok(mut keys) = self.keys.write() {
            *keys = loaded;
        }
        Ok(())
    }

    /// The key named `kid`, reloading from the database (at most once a second)
    /// when another replica may have rotated.
    pub async fn key(&self, kid: &str) -> Option<LoadedKey> {
        if let Some(k) = self.cached_key(kid) {
            return Some(k);
        }
        let now = self.now();
        let due = match self.last_key_reload.lock() {
            Ok(mut last) if *last < now => {
                *last = now;
                true
            }
            _ => false,
        };
        if due {
            if let Err(e) = self.reload_keys().await {
                tracing::warn!("reloading signing keys failed: {e:#}");
            }
        }
        self.cached_key(kid)
    }

    fn cached_key(&self, kid: &str) -> Option<LoadedKey> {
        self.keys
            .read()
            .ok()?
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
    }

    /// The newest key: the one that signs.
    pub fn signing_key(&self) -> Option<LoadedKey> {
        self.keys.read().ok()?.first().cloned()
    }

    /// Keys that may still verify a live token: the signing key, and every
    /// other key that signed a token not yet expired.
    pub fn published_keys(&self) -> Vec<LoadedKey> {
        let now = self.now();
        let Ok(keys) = self.keys.read() else {
            return Vec::new();
        };
        keys.iter()
            .enumerate()
            .filter(|(i, k)| *i == 0 || k.max_token_exp > now)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Records in memory that `kid` signed a token expiring at `exp` (the
    /// database is updated in the issuing transaction).
    pub fn note_key_use(&self, kid: &str, exp: i64) {
        if let Ok(mut keys) = self.keys.write() {
            if let Some(k) = keys.iter_mut().find(|k| k.kid == kid) {
                k.max_token_exp = k.max_token_exp.max(exp);
            }
        }
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
