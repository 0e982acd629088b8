//! The `events` table: the outbox. An event is written in the transaction of
//! the change it tells of, with one `deliveries` row per subscribed webhook
//! (see [`crate::ops::events`]); rows are kept as the delivery log's subject.

use super::*;

#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub event_type: String,
    pub data: serde_json::Value,
    pub created_at: i64,
}

impl EventRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let data: String = r.try_get("data")?;
        Ok(Self {
            id: id(r, "id")?,
            org_id: id(r, "org_id")?,
            event_type: r.try_get("type")?,
            data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            created_at: r.try_get("created_at")?,
        })
    }
}

pub async fn insert_event(c: &mut AnyConnection, e: &EventRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (id, org_id, type, data, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(e.id.to_string())
    .bind(e.org_id.to_string())
    .bind(&e.event_type)
    .bind(e.data.to_string())
    .bind(e.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn get_event(c: &mut AnyConnection, id: Uuid) -> Result<Option<EventRow>, StoreError> {
    Sql::new("SELECT id, org_id, type, data, created_at FROM events WHERE 1=1")
        .and_id("id", Some(id))
        .fetch_optional(c, EventRow::from_row)
        .await
}

// ---------- expiry warnings: which tokens to tell about, and who tells ----------

/// Live tokens inside their org's warning window (`expires_at - now <=
/// orgs.expiry_warning`) not yet announced as expiring.
pub async fn tokens_entering_warning(
    c: &mut AnyConnection,
    now: i64,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    ids(
        c,
        "SELECT t.id FROM tokens t JOIN orgs o ON o.id = t.org_id \
         WHERE t.revoked_at IS NULL AND t.expiring_notified_at IS NULL \
         AND t.expires_at > $1 AND t.expires_at - $1 <= o.expiry_warning ORDER BY t.expires_at LIMIT $2",
        now,
        limit,
    )
    .await
}

/// Unrevoked tokens past their expiry not yet announced as expired.
pub async fn tokens_newly_expired(
    c: &mut AnyConnection,
    now: i64,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    ids(
        c,
        "SELECT id FROM tokens WHERE revoked_at IS NULL AND expired_notified_at IS NULL \
         AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        now,
        limit,
    )
    .await
}

async fn ids(
    c: &mut AnyConnection,
    q: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    sqlx::query(q)
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| id(r, "id"))
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)
}

/// Marks the token announced as expiring (`expired`: as expired, which also
/// stands for expiring). True only for the one caller whose UPDATE changed
/// the row: of several replicas, exactly one announces.
pub async fn mark_token_notified(
    c: &mut AnyConnection,
    token: Uuid,
    expired: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let q = if expired {
        "UPDATE tokens SET expired_notified_at = $1, expiring_notified_at = COALESCE(expiring_notified_at, $1) \
         WHERE id = $2 AND expired_notified_at IS NULL AND revoked_at IS NULL"
    } else {
        "UPDATE tokens SET expiring_notified_at = $1 WHERE id = $2 AND expiring_notified_at IS NULL AND revoked_at IS NULL"
    };
    let done = sqlx::query(q)
        .bind(now)
        .bind(token.to_string())
        .execute(c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Per org: live tokens expiring within 7, 14 and 30 days of `now` (the
/// `sigil_tokens_expiring` gauge), one query.
pub async fn expiring_counts(
    c: &mut AnyConnection,
    now: i64,
) -> Result<Vec<(String, [i64; 3])>, StoreError> {
    const DAY: i64 = 86_400;
    let rows = sqlx::query(
        "SELECT o.name AS name, \
         SUM(CASE WHEN t.expires_at <= $2 THEN 1 ELSE 0 END) AS d7, \
         SUM(CASE WHEN t.expires_at <= $3 THEN 1 ELSE 0 END) AS d14, \
         COUNT(*) AS d30 \
         FROM tokens t JOIN orgs o ON o.id = t.org_id \
         WHERE t.revoked_at IS NULL AND t.expires_at > $1 AND t.expires_at <= $4 \
         GROUP BY o.name ORDER BY o.name",
    )
    .bind(now)
    .bind(now + 7 * DAY)
    .bind(now + 14 * DAY)
    .bind(now + 30 * DAY)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            // SUM is BIGINT in SQLite and NUMERIC in PostgreSQL: read both.
            let n = |col: &str| -> Result<i64, sqlx::Error> {
                r.try_get::<i64, _>(col)
                    .or_else(|_| r.try_get::<Option<i64>, _>(col).map(|v| v.unwrap_or(0)))
            };
            Ok((r.try_get("name")?, [n("d7")?, n("d14")?, n("d30")?]))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
