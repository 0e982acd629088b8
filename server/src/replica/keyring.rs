//! The signing-key ring: every key of the database, loaded (private halves
//! opened with the master key) into memory, newest first.
//!
//! The newest key signs; every key verifies. Keys are reloaded when a token
//! names a `kid` this replica has not seen (at most once a second, so a flood
//! of forged kids costs one query a second), after a rotation on this
//! replica, when a key change is applied ([`super::lease`]: a key added or
//! deleted anywhere is loaded before the change is acknowledged), and
//! periodically by [`crate::jobs::peers`], so a key rotated on another
//! replica reaches this replica's JWKS too.
//!
//! This module owns the ring and its reloading; it depends only on the store
//! and the domain. [`crate::state::AppState`] holds one, and replication
//! drives its periodic reload — never the reverse.

use crate::domain::keys::{generate_signing_key, KeyError, LoadedKey, MasterKey};
use crate::store::{self, KeyRow, Store};
use sqlx::AnyConnection;
use std::sync::{Mutex, RwLock};

pub struct KeyRing {
    master: MasterKey,
    keys: RwLock<Vec<LoadedKey>>,
    /// Unix second of the last reload triggered by an unknown kid.
    last_miss_reload: Mutex<i64>,
}

impl KeyRing {
    /// Loads every key; on an empty database, generates the first one.
    /// Fails when the master key cannot open the stored keys.
    pub async fn load(store: &Store, master: MasterKey, now: i64) -> anyhow::Result<Self> {
        let ring = KeyRing {
            master,
            keys: RwLock::new(Vec::new()),
            last_miss_reload: Mutex::new(i64::MIN),
        };
        let mut conn = store.pool.acquire().await?;
        if store::all_keys(&mut conn).await?.is_empty() {
            ring.insert_new_key(&mut conn, now).await?;
        }
        drop(conn);
        ring.reload(store).await?;
        Ok(ring)
    }

    /// Generates a signing key and stores it (private half sealed), in the
    /// caller's transaction. It signs once [`KeyRing::reload`] ran after commit.
    pub async fn insert_new_key(
        &self,
        conn: &mut AnyConnection,
        now: i64,
    ) -> anyhow::Result<String> {
        let k = generate_signing_key(&self.master)?;
        store::insert_key(
            conn,
            &KeyRow {
                kid: k.kid.clone(),
                public_key: k.public_x,
                private_key_enc: k.private_sealed,
                created_at: now,
                max_token_exp: 0,
            },
        )
        .await?;
        Ok(k.kid)
    }

    /// Reloads every key from the database. Fails when the master key is wrong.
    pub async fn reload(&self, store: &Store) -> anyhow::Result<()> {
        let mut conn = store.pool.acquire().await?;
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

    /// The key named `kid`, reloading from the database (at most once a
    /// second) when another replica may have rotated.
    pub async fn key(&self, store: &Store, kid: &str, now: i64) -> Option<LoadedKey> {
        if let Some(k) = self.cached(kid) {
            return Some(k);
        }
        let due = match self.last_miss_reload.lock() {
            Ok(mut last) if *last < now => {
                *last = now;
                true
            }
            _ => false,
        };
        if due {
            if let Err(e) = self.reload(store).await {
                tracing::warn!("reloading signing keys failed: {e:#}");
            }
        }
        self.cached(kid)
    }

    fn cached(&self, kid: &str) -> Option<LoadedKey> {
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
    pub fn published(&self, now: i64) -> Vec<LoadedKey> {
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
    /// database was updated in the issuing transaction).
    pub fn note_use(&self, kid: &str, exp: i64) {
        if let Ok(mut keys) = self.keys.write() {
            if let Some(k) = keys.iter_mut().find(|k| k.kid == kid) {
                k.max_token_exp = k.max_token_exp.max(exp);
            }
        }
    }
}
