//! The `idempotency` table: issue answers kept 24h for Idempotency-Key
//! replays, per calling token, sealed with the master key.

use super::*;

pub async fn get_idempotent(
    c: &mut AnyConnection,
    caller_token_id: Uuid,
    key: &str,
    not_before: i64,
) -> Result<Option<(String, String)>, StoreError> {
    sqlx::query(
        "SELECT request_hash, response_enc FROM idempotency WHERE caller_token_id = $1 AND idem_key = $2 AND created_at >= $3",
    )
    .bind(caller_token_id.to_string())
    .bind(key)
    .bind(not_before)
    .fetch_optional(c)
    .await?
    .map(|r| -> Result<_, sqlx::Error> {
        Ok((r.try_get("request_hash")?, r.try_get("response_enc")?))
    })
    .transpose()
    .map_err(StoreError::from)
}

pub async fn put_idempotent(
    c: &mut AnyConnection,
    caller_token_id: Uuid,
    key: &str,
    request_hash: &str,
    response_enc: &str,
    now: i64,
    expire_before: i64,
) -> Result<(), StoreError> {
    // The janitor (hourly, indexed) deletes expired answers, off the request
    // path. An expired answer it has not reached yet is overwritten here; a
    // live one is never touched — a concurrent retry must not slip past the
    // primary key and mint a second token — and is reported as the duplicate
    // it is.
    let n = sqlx::query(
        "INSERT INTO idempotency (caller_token_id, idem_key, request_hash, response_enc, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller_token_id, idem_key) DO UPDATE SET \
         request_hash = excluded.request_hash, response_enc = excluded.response_enc, \
         created_at = excluded.created_at WHERE idempotency.created_at < $6",
    )
    .bind(caller_token_id.to_string())
    .bind(key)
    .bind(request_hash)
    .bind(response_enc)
    .bind(now)
    .bind(expire_before)
    .execute(c)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Unique {
            table: "idempotency",
        });
    }
    Ok(())
}

/// Deletes idempotency answers created before `before`.
pub async fn expire_idempotent(pool: &sqlx::AnyPool, before: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}

/// One stored answer of [`put_idempotent_many`].
pub struct IdempotentAnswer<'a> {
    pub caller_token_id: Uuid,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub response_enc: &'a str,
    pub created_at: i64,
}

/// Stores the answers of a batch of issues in one statement, each
/// overwriting only an answer older than `window` seconds before it (as
/// [`put_idempotent`]). Answers how many were stored: fewer than given means
/// a live key was in the way (or a key twice), and the caller goes row by row.
pub async fn put_idempotent_many(
    c: &mut AnyConnection,
    rows: &[IdempotentAnswer<'_>],
    window: i64,
) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    use std::fmt::Write;
    let mut text = String::from(
        "INSERT INTO idempotency (caller_token_id, idem_key, request_hash, response_enc, created_at) VALUES ",
    );
    for r in 0..rows.len() {
        let b = r * 5;
        let _ = write!(
            text,
            "{}(${}, ${}, ${}, ${}, ${})",
            if r == 0 { "" } else { ", " },
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        );
    }
    let _ = write!(
        text,
        " ON CONFLICT (caller_token_id, idem_key) DO UPDATE SET request_hash = excluded.request_hash, \
         response_enc = excluded.response_enc, created_at = excluded.created_at \
         WHERE idempotency.created_at < excluded.created_at - {window}"
    );
    let mut q = sqlx::query(&text);
    for r in rows {
        q = q
            .bind(r.caller_token_id.to_string())
            .bind(r.key)
            .bind(r.request_hash)
            .bind(r.response_enc)
            .bind(r.created_at);
    }
    Ok(q.execute(c).await?.rows_affected())
}
