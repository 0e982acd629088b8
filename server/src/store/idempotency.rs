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
    // Only expired entries go: deleting a live one with the same key would let
    // a concurrent retry slip past the primary key and mint a second token.
    sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(expire_before)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO idempotency (caller_token_id, idem_key, request_hash, response_enc, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(caller_token_id.to_string())
    .bind(key)
    .bind(request_hash)
    .bind(response_enc)
    .bind(now)
    .execute(c)
    .await?;
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
