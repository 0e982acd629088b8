//! The queue of token issues waiting for their group commit: the data only
//! (a decided, signed and sealed issue, its answer channel, the replica's
//! queue and turns), so the state can own one per replica without knowing
//! the operations layer. The commit logic is `ops::tokens::group_commit`.

use crate::error::{ApiError, ApiResult};
use crate::store::{self, AuditRow, TokenRow};
use sigil_proto::api::IssuedToken;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One issue, decided, signed and sealed: only its writes are left.
pub struct Job {
    pub now: i64,
    pub row: TokenRow,
    pub answer: IssuedToken,
    pub audit: AuditRow,
    pub idem: Option<Idem>,
    /// The lifetime check's refusal, answered after the replay lookup.
    pub lifetime: Option<ApiError>,
}

/// The Idempotency-Key part of a job.
pub struct Idem {
    pub caller_token: Uuid,
    pub key: String,
    pub hash: String,
    pub sealed: String,
}

/// What became of a job.
pub enum Outcome {
    /// Its token is committed.
    Minted(IssuedToken),
    /// An earlier request with the same key answered this.
    Replayed(IssuedToken),
    /// Another transaction holds the key: look again now that it is over.
    Raced,
}

pub struct Pending {
    pub seq: u64,
    pub job: Job,
    pub reply: oneshot::Sender<ApiResult<Outcome>>,
}

/// A replica's queue and turns; one per state ([`crate::state::Inner::issues`]).
pub struct Batcher {
    pub queue: Mutex<(u64, Vec<Pending>)>,
    /// How many batches may run at once: one on SQLite (one connection);
    /// two on PostgreSQL, so that one batch fills while the other commits.
    pub turns: Arc<tokio::sync::Semaphore>,
}

impl Batcher {
    pub fn new(backend: store::Backend) -> Self {
        let turns = match backend {
            store::Backend::Sqlite => 1,
            store::Backend::Postgres => 2,
        };
        Batcher {
            queue: Mutex::default(),
            turns: Arc::new(tokio::sync::Semaphore::new(turns)),
        }
    }
}
