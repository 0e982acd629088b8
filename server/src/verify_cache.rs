//! The verification cache: a bounded, in-memory map from SHA-256(token) to the
//! verdict of the *cryptographic* half of authentication (header, kid,
//! signature, issuer), so a token seen again skips the Ed25519 check.
//!
//! # What is cached, and why only that
//! Only what cannot change for a given token string is cached: a JWT's
//! signature under a given key is valid forever. Everything that can change —
//! revoked, expiry shortened, owner deleted, owner's permissions shrunk — is
//! read from the database on every authentication, REST and gRPC alike
//! (`auth::authenticate`, one primary-key read of the token and one of its
//! owner). The trade-off: a verify still costs a database round trip, but
//! correctness across replicas never depends on an invalidation message
//! arriving (a lost `NOTIFY`, a partitioned replica): the database is the one
//! truth every replica shares, and a replica that cannot reach it fails closed.
//! Caching the whole verdict would save the round trip but make "revoked on one
//! replica, refused by all at once" depend on cross-replica delivery.
//!
//! Times are re-checked on every hit against the clock (zero leeway), and a hit
//! also needs its key to still be in the key ring, so a retired key stops
//! verifying at once. The cache is nonetheless emptied whenever a revocation
//! is announced, locally (before the revoke call returns) or by another
//! replica, so a revoked token's entry never outlives its revocation.
//!
//! # Bounds
//! Two generations of at most `capacity / 2` entries: inserts go to the young
//! one; when it is full it becomes the old one and the previous old one is
//! dropped; a hit in the old generation is promoted. O(1) per operation,
//! memory bounded, recently used entries kept. Keys are SHA-256 digests: the
//! JWT itself is never stored.

use crate::domain::jwt::Payload;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Key = [u8; 32];

#[derive(Clone)]
struct Entry {
    kid: String,
    payload: Arc<Payload>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<Key, Entry>,
    old: HashMap<Key, Entry>,
}

/// See the module documentation.
pub struct VerifyCache {
    half: usize,
    inner: Mutex<Generations>,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl Default for VerifyCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl VerifyCache {
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new(capacity: usize) -> Self {
        Self {
            half: (capacity / 2).max(1),
            inner: Mutex::new(Generations::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn key(token: &str) -> Key {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The payload of `token` when it was verified before under key `kid` and
    /// its times still hold at `now`. None means: verify it in full.
    pub fn get(&self, token: &str, kid: &str, now: i64) -> Option<Arc<Payload>> {
        let k = Self::key(token);
        let found = {
            let Ok(mut g) = self.inner.lock() else {
                return None;
            };
            match g.young.get(&k) {
                Some(e) => Some(e.clone()),
                None => match g.old.remove(&k) {
                    Some(e) => {
                        Self::put(&mut g, self.half, k, e.clone());
                        Some(e)
                    }
                    None => None,
                },
            }
        };
        match found {
            Some(e)
                if e.kid == kid
                    && now < e.payload.exp
                    && now >= e.payload.nbf
                    && now >= e.payload.iat =>
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(e.payload)
            }
            _ => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Remembers that `token` passed the cryptographic checks under `kid`.
    pub fn insert(&self, token: &str, kid: &str, payload: &Payload) {
        let k = Self::key(token);
        if let Ok(mut g) = self.inner.lock() {
            Self::put(
                &mut g,
                self.half,
                k,
                Entry {
                    kid: kid.to_string(),
                    payload: Arc::new(payload.clone()),
                },
            );
        }
    }

    fn put(g: &mut Generations, half: usize, k: Key, e: Entry) {
        if g.young.len() >= half && !g.young.contains_key(&k) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(k, e);
    }

    /// Drops every entry (a revocation was announced, or keys changed).
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.clear();
            g.old.clear();
        }
    }

    /// Drops the entries of one token (by `jti`).
    pub fn remove_token(&self, jti: &str) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.retain(|_, e| e.payload.jti != jti);
            g.old.retain(|_, e| e.payload.jti != jti);
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .map(|g| g.young.len() + g.old.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(jti: &str, exp: i64) -> Payload {
        Payload {
            iss: "sigil".into(),
            sub: "o".into(),
            org: "default".into(),
            app: None,
            jti: jti.into(),
            iat: 100,
            nbf: 100,
            exp,
            claims: vec![],
            kind: "bot".into(),
        }
    }

    #[test]
    fn hit_needs_same_kid_and_live_times() {
        let c = VerifyCache::new(10);
        c.insert("t1", "k1", &payload("a", 200));
        assert!(c.get("t1", "k1", 150).is_some());
        assert!(c.get("t1", "k2", 150).is_none(), "another kid misses");
        assert!(c.get("t1", "k1", 200).is_none(), "expired misses");
        assert!(c.get("t1", "k1", 99).is_none(), "not yet valid misses");
        assert!(c.get("t2", "k1", 150).is_none());
    }

    #[test]
    fn bounded_and_promotes() {
        let c = VerifyCache::new(4);
        for i in 0..100 {
            c.insert(&format!("t{i}"), "k", &payload(&i.to_string(), 1000));
            assert!(c.len() <= 4);
        }
        assert!(c.get("t99", "k", 500).is_some());
        assert!(c.get("t0", "k", 500).is_none());
    }

    #[test]
    fn clear_and_remove_token() {
        let c = VerifyCache::new(10);
        c.insert("t1", "k", &payload("a", 1000));
        c.insert("t2", "k", &payload("b", 1000));
        c.remove_token("a");
        assert!(c.get("t1", "k", 500).is_none());
        assert!(c.get("t2", "k", 500).is_some());
        c.clear();
        assert!(c.is_empty());
    }
}
