//! The revocation signal: how a committed revocation is announced on this
//! replica.
//!
//! [`RevocationSignal::send`] wakes this replica's `WatchRevocations`
//! streams, and empties the verification cache (belt and braces: the memory
//! view's correctness rests on [`super::lease`], which empties it when any
//! change, revocations included, is applied). The operations layer sends it after every
//! commit that revoked something ([`crate::ops::Uow::commit`]);
//! [`crate::jobs::peers`] sends it when another replica's revocation arrives.
//! This module depends on nothing but the cache, so both can depend on it.

use super::verify_cache::VerifyCache;
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct RevocationSignal {
    tx: broadcast::Sender<()>,
    cache: Arc<VerifyCache>,
}

impl RevocationSignal {
    pub fn new(cache: Arc<VerifyCache>) -> Self {
        let (tx, _) = broadcast::channel(64);
        Self { tx, cache }
    }

    /// A revocation was committed: empties the verification cache, then wakes
    /// the watchers. Returns how many watchers were woken (none is fine).
    pub fn send(&self) -> usize {
        self.cache.clear();
        self.tx.send(()).unwrap_or(0)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<()> {
        self.tx.subscribe()
    }
}
