//! The verification cache: a bounded, in-memory map from SHA-256(token) to
//! the verdict of the *cryptographic* half of authentication (header, kid,
//! signature, issuer) and, once the token was read from the database, to the
//! [`Principal`] it authenticates as (the replica's *memory view*).
//!
//! # What is cached, and why it may be
//! - The signature verdict can never change for a given token string under a
//!   given key; it skips the Ed25519 check on every later use.
//! - The resolved principal (token row: revoked?, possibly shortened expiry,
//!   claims, app; owner: kind, name, permissions *now*; org name) can change.
//!   It is served only while this replica holds a live lease and has applied
//!   every committed change up to it ([`super::lease`]), and the whole cache is
//!   emptied when a change is applied, before the change is acknowledged. A
//!   change cannot return before every live replica acknowledged it or lost its
//!   lease, so a revoked token is never served from here once revoke returned.
//!   The argument is in `docs/verification.md`.
//! - Races: a principal read from the database before a change committed must
//!   not enter after the change was applied. Each clear bumps an *epoch*; a
//!   reader takes the epoch before its database read and [`VerifyCache::resolve`]
//!   stores only if the epoch is unchanged (checked under the same lock).
//!
//! # The trade-off
//! A warm token costs a SHA-256 and a hash-map lookup, no database access; any
//! change (a revoke anywhere, a permission edit, a key rotation) empties every
//! replica's cache, so the next use of each token reads the database once
//! more. Changes are rare next to verifications, so the view stays simple
//! (all or nothing) instead of tracking what each change touched.
//!
//! Times are re-checked on every hit against the clock (zero leeway), including
//! the token's stored (possibly shortened) expiry.
//!
//! # Bounds
//! Two generations of at most `capacity / 2` entries: inserts go to the young
//! one; when it is full it becomes the old one and the previous old one is
//! dropped; a hit in the old generation is promoted. O(1) per operation,
//! memory bounded, recently used entries kept. Keys are SHA-256 digests: the
//! JWT itself is never stored.

use crate::domain::jwt::Payload;
use crate::domain::principal::Principal;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Key = [u8; 32];

#[derive(Clone)]
struct Entry {
    kid: String,
    payload: Arc<Payload>,
    /// The principal as read from the database after the last clear.
    resolved: Option<Arc<Principal>>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<Key, Entry>,
    old: HashMap<Key, Entry>,
    /// Bumped by every clear; see the module documentation.
    epoch: u64,
}

impl Generations {
    /// The entry of `k`, promoted to the young generation when found in the old one.
    fn find(&mut self, half: usize, k: Key) -> Option<&mut Entry> {
        if !self.young.contains_key(&k) {
            let e = self.old.remove(&k)?;
            VerifyCache::put(self, half, k, e);
        }
        self.young.get_mut(&k)
    }
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

fn times_hold(p: &Payload, now: i64) -> bool {
    now < p.exp && now >= p.nbf && now >= p.iat
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

    /// The principal `token` resolved to, when it was resolved since the last
    /// clear and its times (and stored expiry) still hold at `now`. The caller
    /// serves it only under a live lease ([`super::lease::Lease::fresh`]).
    pub fn warm(&self, token: &str, now: i64) -> Option<Arc<Principal>> {
        let k = Self::key(token);
        let found = {
            let Ok(mut g) = self.inner.lock() else {
                return None;
            };
            let half = self.half;
            g.find(half, k)
                .and_then(|e| Some((e.payload.clone(), e.resolved.clone()?)))
        };
        match found {
            Some((payload, p)) if times_hold(&payload, now) && now < p.expires_at => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(p)
            }
            _ => None,
        }
    }

    /// The current epoch: take it before reading the database, give it to
    /// [`VerifyCache::resolve`].
    pub fn epoch(&self) -> u64 {
        self.inner.lock().map(|g| g.epoch).unwrap_or(u64::MAX)
    }

    /// Remembers what `token` resolved to, read from the database after
    /// `epoch` was taken; dropped when a clear happened since.
    pub fn resolve(&self, token: &str, epoch: u64, principal: Arc<Principal>) {
        let k = Self::key(token);
        if let Ok(mut g) = self.inner.lock() {
            if g.epoch != epoch {
                return;
            }
            let half = self.half;
            if let Some(e) = g.find(half, k) {
                e.resolved = Some(principal);
            }
        }
    }

    /// The payload of `token` when it was verified before under key `kid` and
    /// its times still hold at `now`. None means: verify it in full.
    pub fn get(&self, token: &str, kid: &str, now: i64) -> Option<Arc<Payload>> {
        let k = Self::key(token);
        let found = {
            let Ok(mut g) = self.inner.lock() else {
                return None;
            };
            let half = self.half;
            g.find(half, k).map(|e| e.clone())
        };
        match found {
            Some(e) if e.kid == kid && times_hold(&e.payload, now) => {
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
                    resolved: None,
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

    /// Drops every entry and bumps the epoch (a change was applied).
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.clear();
            g.old.clear();
            g.epoch += 1;
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
