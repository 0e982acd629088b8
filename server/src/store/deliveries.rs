//! The `deliveries` and `delivery_attempts` tables: one delivery per (event,
//! webhook), and the log of its attempts.
//!
//! A delivery is `pending` until an attempt succeeds (`delivered`) or its 24 h
//! run out (`gave_up`). A replica takes one with a conditional UPDATE
//! ([`claim_delivery`]): only a row still pending, due, and not claimed by a
//! live claim is taken, so of several replicas polling at once exactly one
//! wins; a claim lasts [`CLAIM_SECS`], so a replica that dies mid-attempt
//! loses it and another delivers again (at least once).

use super::*;

/// How long a claim holds: longer than an attempt (10 s timeout) can take.
pub const CLAIM_SECS: i64 = 30;

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
}

impl DeliveryRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(r, "id")?,
            event_id: id(r, "event_id")?,
            webhook_id: id(r, "webhook_id")?,
            state: r.try_get("state")?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
        })
    }
}

/// One attempt, as the log shows it.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub attempt: i64,
    /// `delivered`, `failed` or `gave_up`.
    pub result: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: i64,
    pub next_attempt_at: Option<i64>,
}

impl AttemptRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(r, "id")?,
            delivery_id: id(r, "delivery_id")?,
            webhook_id: id(r, "webhook_id")?,
            event_id: id(r, "event_id")?,
            event_type: r.try_get("type")?,
            attempt: r.try_get("attempt")?,
            result: r.try_get("result")?,
            status_code: r.try_get("status_code")?,
            error: r.try_get("error")?,
            duration_ms: r.try_get("duration_ms")?,
            attempted_at: r.try_get("attempted_at")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
        })
    }
}

/// A new pending delivery, due at `due`; `claim` is (replica, until) for one
/// this replica attempts at once (a test delivery).
pub async fn insert_delivery(
    c: &mut AnyConnection,
    id: Uuid,
    event_id: Uuid,
    webhook_id: Uuid,
    due: i64,
    claim: Option<(&str, i64)>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deliveries (id, event_id, webhook_id, state, attempts, next_attempt_at, claimed_by, claimed_until) \
         VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(event_id.to_string())
    .bind(webhook_id.to_string())
    .bind(due)
    .bind(claim.map(|(by, _)| by.to_string()))
    .bind(claim.map(|(_, until)| until))
    .execute(c)
    .await?;
    Ok(())
}

/// Pending deliveries due at `now` and not under a live claim, oldest due first.
pub async fn due_deliveries(
    c: &mut AnyConnection,
    now: i64,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    sqlx::query(
        "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| id(r, "id"))
    .collect::<Result<_, _>>()
    .map_err(StoreError::from)
}

/// Takes the delivery for `me` until `now + CLAIM_SECS`, if it is still
/// pending, due and unclaimed (or its claim lapsed). True when this call won.
pub async fn claim_delivery(
    c: &mut AnyConnection,
    id: Uuid,
    me: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE deliveries SET claimed_by = $1, claimed_until = $2 \
         WHERE id = $3 AND state = 'pending' AND next_attempt_at <= $4 \
         AND (claimed_until IS NULL OR claimed_until < $4)",
    )
    .bind(me)
    .bind(now + CLAIM_SECS)
    .bind(id.to_string())
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_delivery(
    c: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<DeliveryRow>, StoreError> {
    Sql::new("SELECT id, event_id, webhook_id, state, attempts, next_attempt_at FROM deliveries WHERE 1=1")
        .and_id("id", Some(id))
        .fetch_optional(c, DeliveryRow::from_row)
        .await
}

/// The highest attempt number the delivery has used: the larger of its
/// counter and its log (an attempt logged by a replica that died before
/// moving the delivery on counts), so the next attempt never reuses a number.
pub async fn attempts_made(c: &mut AnyConnection, d: &DeliveryRow) -> Result<i64, StoreError> {
    let r = sqlx::query(
        "SELECT COALESCE(MAX(attempt), 0) AS n FROM delivery_attempts WHERE delivery_id = $1",
    )
    .bind(d.id.to_string())
    .fetch_one(c)
    .await?;
    let logged: i64 = r.try_get("n")?;
    Ok(logged.max(d.attempts))
}

/// Records an attempt and moves the delivery on — `state` (`pending` to
/// retry at `next`, `delivered`, `gave_up`), its claim released — in one
/// transaction, and only while `me` holds the claim. False (nothing written)
/// when the claim was lost: another replica took the delivery over and
/// records its own attempt. An attempt already logged under the same number
/// is kept (the insert is idempotent), so a re-send never fails on it.
pub async fn finish_attempt(
    pool: &AnyPool,
    a: &AttemptRow,
    state: &str,
    me: &str,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let moved = sqlx::query(
        "UPDATE deliveries SET state = $1, attempts = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
         claimed_by = NULL, claimed_until = NULL WHERE id = $4 AND state = 'pending' AND claimed_by = $5",
    )
    .bind(state)
    .bind(a.attempt)
    .bind(a.next_attempt_at)
    .bind(a.delivery_id.to_string())
    .bind(me)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO delivery_attempts (id, delivery_id, webhook_id, attempt, result, status_code, error, duration_ms, attempted_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (delivery_id, attempt) DO NOTHING",
    )
    .bind(a.id.to_string())
    .bind(a.delivery_id.to_string())
    .bind(a.webhook_id.to_string())
    .bind(a.attempt)
    .bind(&a.result)
    .bind(a.status_code)
    .bind(&a.error)
    .bind(a.duration_ms)
    .bind(a.attempted_at)
    .bind(a.next_attempt_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Drops a delivery whose webhook or event is gone (a webhook deleted while
/// the event's transaction was open leaves one behind), with its log; only
/// by the claim holder. Nothing can be delivered and no one can read it.
pub async fn drop_orphan_delivery(pool: &AnyPool, id: Uuid, me: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let gone = sqlx::query("DELETE FROM deliveries WHERE id = $1 AND claimed_by = $2")
        .bind(id.to_string())
        .bind(me)
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query("DELETE FROM delivery_attempts WHERE delivery_id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The webhook's attempts, newest first, after the cursor `after` (an attempt id).
pub async fn list_attempts(
    c: &mut AnyConnection,
    webhook_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AttemptRow>, StoreError> {
    let q = Sql::new(
        "SELECT a.id, a.delivery_id, a.webhook_id, d.event_id, e.type, a.attempt, a.result, a.status_code, \
         a.error, a.duration_ms, a.attempted_at, a.next_attempt_at FROM delivery_attempts a \
         JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id WHERE 1=1",
    )
    .and_id("a.webhook_id", Some(webhook_id));
    let q = match after {
        Some(a) => q.push(" AND a.id < $?", Arg::Text(a.to_string())),
        None => q,
    };
    q.raw(" ORDER BY a.id DESC")
        .push(" LIMIT $?", Arg::Int(limit))
        .fetch_all(c, AttemptRow::from_row)
        .await
}

/// How long the delivery log and its events are kept (every delivery is
/// finished 24 h after its event).
pub const DELIVERY_LOG_RETENTION: i64 = 30 * 86_400;

/// Drops events older than `before` with their finished deliveries and
/// attempts (the janitor's hourly work).
pub async fn prune_deliveries(pool: &AnyPool, before: i64) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for q in [
        "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT d.id FROM deliveries d \
         JOIN events e ON e.id = d.event_id WHERE d.state <> 'pending' AND e.created_at < $1)",
        "DELETE FROM deliveries WHERE state <> 'pending' AND event_id IN \
         (SELECT id FROM events WHERE created_at < $1)",
        "DELETE FROM events WHERE created_at < $1 AND id NOT IN (SELECT event_id FROM deliveries)",
    ] {
        sqlx::query(q).bind(before).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
