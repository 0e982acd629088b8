//! Events: the outbox half of webhooks (SPEC §6 "Events and expiry warnings").
//!
//! An operation queues an event on its unit of work ([`super::Uow::event`]);
//! at commit, [`write`] stores it in `events` and one pending `deliveries`
//! row per webhook of the org that subscribes to its type (an event no
//! webhook wants is not stored), in the same transaction as the change: a change that rolls back tells no one, and a
//! committed change is never lost to a crash between the commit and the
//! delivery. Delivery itself runs after the commit, off the request path
//! ([`crate::jobs::delivery`]).
//!
//! Event data names ids, names, labels, claims, times and reasons — never a
//! JWT or a secret: receivers are other systems, their logs are not ours.

use crate::store::{self, AnyConnection, EventRow, StoreError, TokenRow};
use serde_json::{json, Value};
use uuid::Uuid;

/// An event waiting for its transaction's commit.
#[derive(Debug, Clone)]
pub struct Queued {
    pub org_id: Uuid,
    pub event_type: String,
    pub data: Value,
}

/// Writes the events and their deliveries (due at `now`) in the transaction
/// `c`; answers how many deliveries were written (the worker is woken when
/// any were).
pub async fn write(
    c: &mut AnyConnection,
    now: i64,
    events: &[Queued],
) -> Result<usize, StoreError> {
    let mut hooks: Vec<(Uuid, Vec<store::WebhookRow>)> = Vec::new();
    let mut n = 0;
    for e in events {
        let i = match hooks.iter().position(|(org, _)| *org == e.org_id) {
            Some(i) => i,
            None => {
                hooks.push((e.org_id, store::org_webhooks(&mut *c, e.org_id).await?));
                hooks.len() - 1
            }
        };
        let to: Vec<Uuid> = hooks[i]
            .1
            .iter()
            .filter(|w| w.wants(&e.event_type))
            .map(|w| w.id)
            .collect();
        // No subscriber, nothing to keep: an issue in an org without
        // webhooks costs one indexed read, not a write.
        if to.is_empty() {
            continue;
        }
        let row = EventRow {
            id: super::new_id(),
            org_id: e.org_id,
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            created_at: now,
        };
        store::insert_event(&mut *c, &row).await?;
        for w in to {
            store::insert_delivery(&mut *c, super::new_id(), row.id, w, now, None).await?;
            n += 1;
        }
    }
    Ok(n)
}

fn rfc3339(unix: i64) -> String {
    crate::clock::to_time(unix)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The data of a token event: what the token is, never the token itself.
pub fn token(t: &TokenRow) -> Value {
    json!({
        "token_id": t.id,
        "owner_id": t.owner_id,
        "owner_kind": t.owner_kind.as_str(),
        "owner": t.owner_name,
        "app_id": t.app_id,
        "label": t.label,
        "claims": t.claims.to_strings(),
        "parent_id": t.parent_id,
        "created_at": rfc3339(t.created_at),
        "expires_at": rfc3339(t.expires_at),
    })
}

/// Queues `token.revoked` for the token `id`, just revoked in the unit of
/// work (its row read back: the reason is the one stored).
pub async fn revoked(uow: &mut super::Uow<'_>, id: Uuid) -> Result<(), StoreError> {
    if let Some(t) = store::get_token(uow.c(), None, id).await? {
        let mut data = token(&t);
        data["reason"] = json!(t.revoke_reason);
        uow.event(t.org_id, "token.revoked", data);
    }
    Ok(())
}

/// The data of a bot event.
pub fn bot(id: Uuid, username: &str) -> Value {
    json!({"bot_id": id, "username": username})
}

/// The data of `key.rotated`: the new signing key's id.
pub fn key(kid: &str) -> Value {
    json!({"kid": kid})
}

/// `token.issued` for tokens issued outside a unit of work (the group
/// commit of [`super::tokens`]), in its transaction `c`; each event at its
/// token's creation time. Errors as sqlx's, as the group commit handles them.
pub async fn issued_rows(c: &mut AnyConnection, rows: &[&TokenRow]) -> Result<usize, sqlx::Error> {
    let mut n = 0;
    let mut i = 0;
    // One write (one read of the org's webhooks) per run of tokens issued
    // in the same second: most batches are one run.
    while let Some(first) = rows.get(i) {
        let at = first.created_at;
        let run: Vec<Queued> = rows[i..]
            .iter()
            .take_while(|t| t.created_at == at)
            .map(|t| Queued {
                org_id: t.org_id,
                event_type: "token.issued".into(),
                data: token(t),
            })
            .collect();
        i += run.len();
        n += write(&mut *c, at, &run).await.map_err(|e| match e {
            StoreError::Unavailable(e) | StoreError::Other(e) => e,
            StoreError::Unique { table } => {
                sqlx::Error::Protocol(format!("a unique constraint of {table} refused an event"))
            }
        })?;
    }
    Ok(n)
}

/// Per org, live tokens expiring within 7, 14 and 30 days (the
/// `sigil_tokens_expiring` gauge, computed at scrape with one query).
pub async fn expiring_tokens(
    state: &crate::state::AppState,
) -> crate::error::ApiResult<Vec<(String, [i64; 3])>> {
    let mut c = state.store.pool.acquire().await?;
    Ok(store::expiring_counts(&mut c, state.now()).await?)
}
