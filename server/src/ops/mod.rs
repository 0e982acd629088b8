//! The operations layer: one function per use case, between the wire (REST
//! in [`crate::http`], gRPC in [`crate::grpc`]) and the store.
//!
//! Every operation takes the authenticated [`Caller`] and typed input, and
//! returns typed output (rows and domain values, never wire JSON). A change
//! runs in a [`Uow`] (unit of work), which in order:
//! 1. opens the transaction ([`Uow::write`]; reads use [`Uow::read`]);
//! 2. resolves the org for the caller ([`Uow::org`]: out of reach = 404);
//! 3. authorizes through the one function, [`authorize`] ([`Uow::authorize`]);
//! 4. collects audit entries ([`Uow::audit`]), webhook events ([`Uow::event`])
//!    and what must follow a commit ([`Uow::revoked`], [`Uow::issued`],
//!    [`Uow::keys_rotated`]);
//! 5. on [`Uow::commit`], writes the audit entries and the events with their
//!    deliveries (the outbox, [`events`]) in the same transaction,
//!    commits, waits until every replica applied the change or lost its lease
//!    ([`crate::replica::lease`]: memory views emptied), then announces revocations
//!    (watchers woken), reloads keys and counts metrics.
//!
//! So no handler can forget a step, and no two copies can drift. Nothing in
//! here imports axum or tonic; the wire layers map [`crate::error::ApiError`]
//! to their status codes.
//!
//! # Layout: route → operation
//! | route | operation |
//! |---|---|
//! | `GET /v1/whoami` | [`session::whoami`] |
//! | `POST,GET /v1/orgs`, `GET /v1/orgs/{org}` | [`orgs::create`], [`orgs::list`], [`orgs::view`] |
//! | `POST,GET …/users`, `GET,PATCH,DELETE …/users/{user}` | [`principals::create`], [`principals::list`], [`principals::view`], [`principals::update`], [`principals::delete`] with [`Kind::User`] |
//! | `POST,GET …/bots`, `GET,PATCH,DELETE …/bots/{bot}` | the same with [`Kind::Bot`] |
//! | `PUT,DELETE …/bots/{bot}/identities/{service}` | [`principals::set_identity`] |
//! | `POST,GET …/apps`, `GET,DELETE …/apps/{app}` | [`apps::create`], [`apps::list`], [`apps::view`], [`apps::delete`] |
//! | `POST,GET …/tokens`, `GET,PATCH,DELETE …/tokens/{id}` | [`tokens::issue`], [`tokens::list`], [`tokens::view`], [`tokens::update`], [`tokens::revoke`] |
//! | `POST /v1/tokens/attenuate` | [`tokens::attenuate()`] |
//! | `POST /v1/leaks` (no authentication) | [`leaks::report`], processed after the answer by [`leaks::process`] |
//! | `POST /v1/revoke`, `POST /v1/introspect` | [`by_value::revoke`], [`by_value::introspect`] |
//! | `GET /v1/revocations`, gRPC `WatchRevocations` | [`revocations::feed`], [`revocations::authorize_watch`] |
//! | gRPC `Verify` | [`session::verify`] |
//! | `GET /v1/orgs/{org}/audit` | [`audit::list`] |
//! | `GET /v1/orgs/{org}/audit/verify` | [`audit::verify`] |
//! | `POST /v1/keys/rotate` | [`keys::rotate`] |
//! | `PATCH /v1/orgs/{org}` | [`orgs::update`] |
//! | `POST,GET …/webhooks`, `GET,PATCH,DELETE …/webhooks/{id}` | [`webhooks::create`], [`webhooks::list`], [`webhooks::view`], [`webhooks::update`], [`webhooks::delete`] |
//! | `GET …/webhooks/{id}/deliveries`, `POST …/webhooks/{id}/test` | [`webhooks::deliveries`], [`webhooks::test`] |
//! | (after commit, every replica) | delivery: [`crate::jobs::delivery`]; expiry warnings: [`crate::jobs::expiry`] |
//! | `GET /readyz`, gRPC health, `GET /.well-known/jwks.json` | [`health::ready`], [`health::published_keys`] |
//! | first start | [`bootstrap::bootstrap`] |
//! | `GET /healthz`, `/metrics`, `/openapi.json` | none: the wire layer answers them from memory (`http/operations.rs`) |

pub mod apps;
pub mod audit;
pub mod bootstrap;
pub mod by_value;
pub mod events;
pub mod health;
pub mod keys;
pub mod leaks;
pub mod orgs;
pub mod principals;
pub mod recovery;
pub mod revocations;
pub mod session;
pub mod tokens;
pub mod webhooks;

mod after_commit;
mod authz;
mod uow;

pub use crate::domain::principal::Kind;
/// Rows the operations answer with (the wire layer maps them in `crate::wire`).
pub use crate::store::{AppRow, AuditRow, OrgRow, PrincipalRow, RevocationRow, TokenRow};
pub use after_commit::AfterCommit;
pub use authz::{authorize, can_administer, check_no_escalation, is_org_admin};
pub use uow::{Actor, Uow};

use crate::domain::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::store::StoreError;
use std::net::IpAddr;

/// An authenticated caller: the principal behind the bearer token, and the
/// client address it called from (for the audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub p: Principal,
    pub ip: Option<IpAddr>,
}

/// A page of rows and the cursor of the next page.
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id of the last item when more follow; the wire layer encodes it.
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `limit + 1` fetched rows to a page.
    pub fn cut(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next_after = if more { rows.last().map(id) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after: self.next_after,
        }
    }
}

/// Where a list starts and how long its page is, already checked.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: i64,
}

/// Turns a duplicate (the store's [`StoreError::Unique`]) into a 409 naming
/// `field`; any other store error passes through. The one place a duplicate
/// becomes a conflict.
pub fn conflict_on_unique(
    field: &'static str,
    message: impl FnOnce() -> String,
) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::Unique { .. } => ApiError::conflict(field, message()),
        other => other.into(),
    }
}

/// Maps a [`sigil_proto::rules::RuleError`] (or any field error) to a 400.
pub(crate) fn invalid(field: &str) -> impl FnOnce(String) -> ApiError + '_ {
    move |message| ApiError::invalid(field, message)
}

/// A refused list of claims: 400 when a claim is malformed or the list too
/// long (the OpenAPI document forbids both), 422 when every claim is
/// well-formed and only their size in combinations is refused.
pub(crate) fn claims_refused(
    field: &str,
    values: &[String],
    e: sigil_proto::claims::ClaimError,
) -> ApiError {
    let well_formed = values.len() <= sigil_proto::claims::MAX_CLAIMS
        && values.iter().all(|v| sigil_proto::rules::is_claim_form(v));
    if well_formed {
        ApiError::new(sigil_proto::ErrorCode::Unprocessable, e.to_string()).with_field(field)
    } else {
        ApiError::invalid(field, e.to_string())
    }
}

/// A new random-but-ordered id (UUID v7) for a row.
pub(crate) fn new_id() -> uuid::Uuid {
    crate::domain::new_id()
}

pub(crate) type Result<T> = ApiResult<T>;
