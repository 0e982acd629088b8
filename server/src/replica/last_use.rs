//! Last use and use counts of tokens, recorded at most once a minute per
//! token and written in batches, so a warm authentication writes nothing.
//!
//! A token's first authentication on a replica reads the database anyway and
//! records its use there and then (when the stored one is over a minute old).
//! Later uses are queued in memory when the last recorded one is over a
//! minute old; the job [`crate::jobs::last_use`] writes the queue in one
//! statement per [`CHUNK`] tokens every few seconds, and on shutdown. A crash
//! loses at most those seconds of `last_used_at`, which is informational.
//!
//! # Use counts of unlimited tokens
//! Tokens without `max_uses` count their uses here too: every use adds one to
//! the token's entry, and the count is added (`uses = uses + n`) with the
//! token's next last-use write, or on its own once it waited a minute, or on
//! shutdown — so views show an approximate `uses` (behind by about a minute at
//! most; a crash loses the count not yet written). Tokens *with* `max_uses`
//! never come here: each of their uses is one exact conditional UPDATE
//! ([`crate::store::token_uses`]), which also records their last use.
//!
//! Bounds: one entry per token used in the last minute (older ones are
//! dropped when the map grows past [`MAX_TRACKED`]).

use crate::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// How often the queue is written.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Tokens per UPDATE statement.
pub const CHUNK: usize = 500;
/// Past this many tracked tokens, those recorded over a minute ago are dropped.
pub const MAX_TRACKED: usize = 200_000;
/// Use is recorded at most this often per token (seconds).
pub const EVERY: i64 = 60;

/// Uses of one token not written yet.
#[derive(Debug, Clone, Copy)]
struct Uses {
    /// The latest.
    at: i64,
    /// How many.
    n: i64,
    /// The earliest.
    since: i64,
}

impl Uses {
    fn merge(&mut self, o: Uses) {
        self.at = self.at.max(o.at);
        self.since = self.since.min(o.since);
        self.n += o.n;
    }
}

fn add(m: &mut HashMap<Uuid, Uses>, token: Uuid, u: Uses) {
    m.entry(token).and_modify(|e| e.merge(u)).or_insert(u);
}

#[derive(Default)]
struct Inner {
    /// Token → the last use recorded (written or queued).
    recorded: HashMap<Uuid, i64>,
    /// Token → the uses to write at the next flush (its last use is due).
    pending: HashMap<Uuid, Uses>,
    /// Token → uses within a minute of the last recorded one: written with
    /// its next due use, or once they waited a minute.
    counted: HashMap<Uuid, Uses>,
}

/// See the module documentation.
#[derive(Default)]
pub struct LastUse {
    inner: Mutex<Inner>,
}

impl LastUse {
    /// A use of unlimited `token` at `now` not written to the database:
    /// counted, and queued for the next flush when its last use is due.
    pub fn queue(&self, token: Uuid, now: i64) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let one = Uses {
            at: now,
            n: 1,
            since: now,
        };
        let due = g.recorded.get(&token).is_none_or(|t| now - t >= EVERY);
        if due {
            if g.recorded.len() >= MAX_TRACKED {
                g.recorded.retain(|_, t| now - *t < EVERY);
            }
            g.recorded.insert(token, now);
            let mut u = g.counted.remove(&token).unwrap_or(Uses { n: 0, ..one });
            u.merge(one);
            add(&mut g.pending, token, u);
        } else if g.pending.contains_key(&token) {
            add(&mut g.pending, token, one);
        } else {
            add(&mut g.counted, token, one);
        }
    }

    /// A use of `token` at `at` is stored in the database (read or written
    /// there): nothing to queue before a minute has passed.
    pub fn stored(&self, token: Uuid, at: i64) {
        if let Ok(mut g) = self.inner.lock() {
            let e = g.recorded.entry(token).or_insert(at);
            *e = (*e).max(at);
        }
    }

    /// Writes the queued uses, and the counts that waited a minute (one
    /// statement per [`CHUNK`] tokens); on failure they are queued again.
    pub async fn flush(&self, store: &Store, now: i64) {
        self.write(store, now, false).await;
    }

    /// Writes every use and count held (on shutdown).
    pub async fn flush_all(&self, store: &Store, now: i64) {
        self.write(store, now, true).await;
    }

    async fn write(&self, store: &Store, now: i64, all: bool) {
        let uses: Vec<(Uuid, Uses)> = match self.inner.lock() {
            Ok(mut g) => {
                let mut out: Vec<(Uuid, Uses)> =
                    std::mem::take(&mut g.pending).into_iter().collect();
                let waited: Vec<Uuid> = g
                    .counted
                    .iter()
                    .filter(|(_, u)| all || now - u.since >= EVERY)
                    .map(|(t, _)| *t)
                    .collect();
                for t in waited {
                    if let Some(u) = g.counted.remove(&t) {
                        let e = g.recorded.entry(t).or_insert(u.at);
                        *e = (*e).max(u.at);
                        out.push((t, u));
                    }
                }
                out
            }
            Err(_) => return,
        };
        for chunk in uses.chunks(CHUNK) {
            let rows: Vec<(Uuid, i64, i64)> = chunk.iter().map(|(t, u)| (*t, u.at, u.n)).collect();
            let written = match store.pool.acquire().await {
                Ok(mut c) => crate::store::token_uses::flush_uses(&mut c, &rows).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = written {
                tracing::debug!("recording last use failed: {e}");
                if let Ok(mut g) = self.inner.lock() {
                    for (t, u) in chunk {
                        add(&mut g.pending, *t, *u);
                    }
                }
            }
        }
    }

    /// Tokens whose uses wait for the next flush.
    pub fn pending(&self) -> usize {
        self.inner.lock().map(|g| g.pending.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_wait_for_their_last_use_to_be_due() {
        let l = LastUse::default();
        let t = Uuid::new_v4();
        l.stored(t, 0);
        l.queue(t, 10);
        l.queue(t, 20);
        assert_eq!(l.pending(), 0, "counted, not due within the minute");
        l.queue(t, 61);
        assert_eq!(l.pending(), 1, "due: the counts go with it");
        let g = l.inner.lock().unwrap();
        let u = g.pending[&t];
        assert_eq!((u.n, u.at, u.since), (3, 61, 10));
        assert!(g.counted.is_empty());
    }
}
