//! What one replica holds in memory, and the protocol that keeps it true
//! across replicas.
//!
//! - [`keyring`]: the signing keys, and their reloading.
//! - [`verify_cache`]: SHA-256(token) → verified signature and resolved
//!   principal (the *memory view*), so a token seen again is answered from
//!   memory.
//! - [`lease`]: when memory may answer, and how a change waits for every
//!   replica (the protocol; its renewal loop is [`crate::jobs::lease`]).
//! - [`signal`]: how a committed revocation is announced on this replica.
//! - [`last_use`]: last uses and use counts waiting to be written (written by
//!   [`crate::jobs::last_use`]).
//! - [`issue_queue`]: token issues waiting for their group commit.
//! - [`leak_desk`]: leak reports waiting to be processed, and their rate limit.
//! - [`deliveries`]: the webhook worker's wake-up, slots, counters and client.
//!
//! # The rule of this folder
//! Nothing here imports `AppState` or `ops`: a piece takes what it needs (the
//! store, the clock's `now`, the cache) as arguments, or the small [`Env`]
//! of the three things the lease protocol touches. So the state may own
//! every piece without a cycle, and the jobs and operations call them.

pub mod deliveries;
pub mod issue_queue;
pub mod keyring;
pub mod last_use;
pub mod leak_desk;
pub mod lease;
pub mod signal;
pub mod verify_cache;

use crate::store::Store;

/// What the lease protocol reaches: the store, the key ring (reloaded when
/// keys changed) and the verification cache (emptied when a change is
/// applied). `AppState::env` lends one.
pub struct Env<'a> {
    pub store: &'a Store,
    pub keys: &'a keyring::KeyRing,
    pub cache: &'a verify_cache::VerifyCache,
}
