//! Last use of tokens, recorded at most once a minute per token and written
//! in batches, so a warm authentication writes nothing.
//!
//! A token's first authentication on a replica reads the database anyway and
//! records its use there and then (when the stored one is over a minute old).
//! Later uses are queued in memory when the last recorded one is over a
//! minute old; [`crate::lease::spawn`]'s task writes the queue in one
//! statement per [`CHUNK`] tokens every few seconds, and on shutdown. A crash
//! loses at most those seconds of `last_used_at`, which is informational.
//!
//! Bounds: one entry per token used in the last minute (older ones are
//! dropped when the map grows past [`MAX_TRACKED`]).

use crate::state::AppState;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Flush every this many lease ticks (500 ms each).
pub const FLUSH_EVERY_TICKS: u64 = 10;
/// Tokens per UPDATE statement.
pub const CHUNK: usize = 500;
/// Past this many tracked tokens, those recorded over a minute ago are dropped.
pub const MAX_TRACKED: usize = 200_000;
/// Use is recorded at most this often per token (seconds).
pub const EVERY: i64 = 60;

#[derive(Default)]
struct Inner {
    /// Token → the last use recorded (written or queued).
    recorded: HashMap<Uuid, i64>,
    /// Token → the use to write at the next flush.
    pending: HashMap<Uuid, i64>,
}

/// See the module documentation.
#[derive(Default)]
pub struct LastUse {
    inner: Mutex<Inner>,
}

impl LastUse {
    /// A use of `token` at `now` seen from memory: queued when due.
    pub fn queue(&self, token: Uuid, now: i64) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        if g.recorded.get(&token).is_some_and(|t| now - t < EVERY) {
            return;
        }
        if g.recorded.len() >= MAX_TRACKED {
            g.recorded.retain(|_, t| now - *t < EVERY);
        }
        g.recorded.insert(token, now);
        g.pending.insert(token, now);
    }

    /// A use of `token` at `at` is stored in the database (read or written
    /// there): nothing to queue before a minute has passed.
    pub fn stored(&self, token: Uuid, at: i64) {
        if let Ok(mut g) = self.inner.lock() {
            let e = g.recorded.entry(token).or_insert(at);
            *e = (*e).max(at);
        }
    }

    /// Writes the queued uses (one statement per [`CHUNK`]); on failure they
    /// are queued again.
    pub async fn flush(&self, state: &AppState) {
        let uses: Vec<(Uuid, i64)> = match self.inner.lock() {
            Ok(mut g) => std::mem::take(&mut g.pending).into_iter().collect(),
            Err(_) => return,
        };
        for chunk in uses.chunks(CHUNK) {
            let written = match state.store.pool.acquire().await {
                Ok(mut c) => crate::store::flush_last_used(&mut c, chunk).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = written {
                tracing::debug!("recording last use failed: {e}");
                if let Ok(mut g) = self.inner.lock() {
                    for (t, at) in chunk {
                        let e = g.pending.entry(*t).or_insert(*at);
                        *e = (*e).max(*at);
                    }
                }
            }
        }
    }

    /// Uses waiting to be written.
    pub fn pending(&self) -> usize {
        self.inner.lock().map(|g| g.pending.len()).unwrap_or(0)
    }
}
