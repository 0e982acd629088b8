//! The unit of work: one transaction, the caller, the org, the audit entries
//! and what follows the commit. See the [`crate::ops`] module documentation.
//!
//! # Lock order: the audit chain head is the last lock a transaction takes
//! Every org's audit chain has one head row, locked (an UPDATE) by
//! [`store::insert_audits`] before the entries are chained, orgs in id order.
//! Every writer — a unit of work, the issue group commit
//! (`ops::tokens::group_commit`), anything else — takes every other row lock
//! it needs first (the signing key's row when a token is minted, the
//! Idempotency-Key answers, the tokens revoked, …) and writes its audit
//! entries last, in one [`store::insert_audits`] just before commit; after
//! it, only inserts that wait on no row (events, deliveries). A transaction
//! holding a head thus never waits for a row another head-waiter holds, and
//! PostgreSQL cannot deadlock on head-then-row against row-then-head.
//! [`Uow::audit`] only collects entries; [`Uow::commit`] writes them.

use super::after_commit::AfterCommit;
use super::{authorize, can_administer, check_no_escalation, Caller, Result};
use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, AuditRow, OrgRow};
use sigil_proto::ClaimSet;
use sqlx::AnyConnection;
use std::net::IpAddr;
use uuid::Uuid;

/// Who an audit entry names: the caller, the holder of a token revoked by
/// value, or the server itself.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
    pub ip: Option<IpAddr>,
}

impl Actor {
    pub fn of(caller: &Caller) -> Self {
        Actor {
            id: Some(caller.p.id),
            name: caller.p.name.clone(),
            ip: caller.ip,
        }
    }

    /// The server acting on its own (bootstrap, recovery).
    pub fn system() -> Self {
        Actor {
            id: None,
            name: "system".into(),
            ip: None,
        }
    }
}

enum Conn {
    /// A change: everything commits together or not at all.
    Tx(sqlx::Transaction<'static, sqlx::Any>),
    /// A read: a pooled connection, no transaction to pay for.
    Read(sqlx::pool::PoolConnection<sqlx::Any>),
}

/// One use case's transaction; see the module documentation.
pub struct Uow<'s> {
    state: &'s AppState,
    caller: Option<&'s Principal>,
    actor: Actor,
    conn: Conn,
    /// The time of the whole operation (one clock reading).
    pub now: i64,
    audit: Vec<AuditRow>,
    /// Events for the outbox, written at commit; see [`super::events`].
    events: Vec<super::events::Queued>,
    after: AfterCommit,
}

impl<'s> Uow<'s> {
    /// A change made by `caller`: opens a transaction.
    pub async fn write(state: &'s AppState, caller: &'s Caller) -> Result<Self> {
        let tx = state.store.pool.begin().await?;
        Ok(Self::new(
            state,
            Some(&caller.p),
            Actor::of(caller),
            Conn::Tx(tx),
        ))
    }

    /// A read by `caller`: no transaction, no audit.
    pub async fn read(state: &'s AppState, caller: &'s Caller) -> Result<Self> {
        let conn = state.store.pool.acquire().await?;
        Ok(Self::new(
            state,
            Some(&caller.p),
            Actor::of(caller),
            Conn::Read(conn),
        ))
    }

    /// A change made without an authenticated caller (the server itself, or
    /// the holder of a token revoking it by value): nothing can be authorized.
    pub async fn unauthenticated(state: &'s AppState, actor: Actor) -> Result<Self> {
        let tx = state.store.pool.begin().await?;
        Ok(Self::new(state, None, actor, Conn::Tx(tx)))
    }

    fn new(state: &'s AppState, caller: Option<&'s Principal>, actor: Actor, conn: Conn) -> Self {
        Uow {
            now: state.now(),
            state,
            caller,
            actor,
            conn,
            audit: Vec::new(),
            events: Vec::new(),
            after: AfterCommit::default(),
        }
    }

    pub fn state(&self) -> &'s AppState {
        self.state
    }

    /// Names who acts in a change made without a caller (the holder of a
    /// token revoked by value, once its row is known).
    pub fn act_as(&mut self, actor: Actor) {
        if self.caller.is_none() {
            self.actor = actor;
        }
    }

    /// The id of whoever acts (none for the server itself).
    pub fn actor_id(&self) -> Option<Uuid> {
        self.actor.id
    }

    /// The connection (inside the transaction for a change).
    pub fn c(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Tx(tx) => tx,
            Conn::Read(c) => c,
        }
    }

    fn principal(&self) -> Result<&'s Principal> {
        self.caller
            .ok_or_else(|| ApiError::forbidden("this operation needs an authenticated caller"))
    }

    /// Resolves `{org}` (id or name) for the caller. Principals reach their own
    /// org; root-org principals whose rights cover `orgs:get:<org>` reach any
    /// org. Every other org answers 404 with field `org`, as if it did not
    /// exist, so clients tell "out of reach" from "the object is gone".
    pub async fn org(&mut self, org: &str) -> Result<OrgRow> {
        let p = self.principal()?;
        let not_found = || ApiError::not_found("org", org).with_field("org");
        let row = store::find_org(self.c(), org)
            .await?
            .ok_or_else(not_found)?;
        if row.id == p.org_id || can_administer(p, &row) {
            Ok(row)
        } else {
            Err(not_found())
        }
    }

    /// [`authorize`] for the caller.
    pub fn authorize(
        &self,
        scope: &str,
        action: &str,
        id: impl std::fmt::Display,
        name: Option<&str>,
        app: Option<Uuid>,
    ) -> Result<()> {
        authorize(self.principal()?, scope, action, id, name, app)
    }

    /// [`check_no_escalation`] for the caller.
    pub fn no_escalation(&self, wanted: &ClaimSet, field: &str) -> Result<()> {
        check_no_escalation(self.principal()?, wanted, field)
    }

    /// Records an audit entry, written in this transaction at commit.
    /// `target` is (type, id).
    pub fn audit(
        &mut self,
        org_id: Uuid,
        action: &str,
        (target_type, target_id): (&str, impl std::fmt::Display),
        details: serde_json::Value,
    ) {
        self.audit.push(AuditRow {
            id: super::new_id(),
            org_id,
            actor_id: self.actor.id,
            actor_name: self.actor.name.clone(),
            action: action.to_string(),
            target_type: target_type.to_string(),
            target_id: Some(target_id.to_string()),
            details,
            client_ip: self.actor.ip.map(|i| i.to_string()),
            created_at: self.now,
            seq: None,
            hash: None,
            chain_version: crate::domain::audit_chain::CURRENT_VERSION,
        });
    }

    /// Queues an event of `event_type` in `org_id`: written at commit in this
    /// transaction with a delivery per subscribed webhook (the outbox; see
    /// [`super::events`]), delivered after the commit. `data` never holds a
    /// JWT or a secret.
    pub fn event(&mut self, org_id: Uuid, event_type: &str, data: serde_json::Value) {
        self.events.push(super::events::Queued {
            org_id,
            event_type: event_type.to_string(),
            data,
        });
    }

    /// `n` tokens were revoked: after commit, watchers wake. (The memory
    /// views of every replica are emptied by the commit itself; see
    /// [`crate::replica::lease`].)
    pub fn revoked(&mut self, n: usize) {
        self.after.revoked += n as u64;
    }

    /// A token signed by `kid`, expiring at `exp`, was issued.
    pub fn issued(&mut self, kid: &str, exp: i64) {
        self.after.issued.push((kid.to_string(), exp));
    }

    /// A signing key was added: the key ring reloads after commit.
    pub fn keys_rotated(&mut self) {
        self.after.keys_rotated = true;
    }

    /// Writes the audit entries, commits, then runs what follows a commit.
    pub async fn commit(mut self) -> Result<()> {
        let audit = std::mem::take(&mut self.audit);
        let events = std::mem::take(&mut self.events);
        let state = self.state;
        let mut after = std::mem::take(&mut self.after);
        match self.conn {
            Conn::Tx(mut tx) => {
                // One INSERT, after the org's audit chain head is locked
                // (last, so no lock is ever taken after it; see
                // `store::insert_audits`).
                let rows: Vec<&store::AuditRow> = audit.iter().collect();
                store::insert_audits(&mut tx, &rows).await?;
                after.deliveries = super::events::write(&mut tx, self.now, &events).await?;
                // The change this transaction made to what replicas keep in
                // memory, if any (triggers number it; see `crate::replica::lease`),
                // read before the commit, with what this replica had applied.
                let head = store::change_head(&mut tx).await?;
                let applied_before = state.lease.applied();
                tx.commit().await?;
                // Returns only once no replica can answer from a view older
                // than this change: every operation's change waits here.
                state
                    .lease
                    .publish(&state.env(), head, applied_before)
                    .await;
            }
            Conn::Read(_) => {
                if !audit.is_empty() || !events.is_empty() {
                    return Err(ApiError::internal("an audit entry was recorded in a read"));
                }
            }
        }
        after.run(state).await?;
        Ok(())
    }
}
