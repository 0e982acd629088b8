//! Token uses: the one write per request of a token with `max_uses`, and the
//! batched count of the others.
//!
//! # Exact, across replicas
//! A use of a limited token is one conditional UPDATE, `uses = uses + 1` only
//! while `uses < max_uses` and the token is not revoked, answering the new
//! count (`RETURNING`). The database serializes the updates of one row (a row
//! lock on PostgreSQL, the single writer on SQLite), and each re-evaluates its
//! condition against the committed count: however many replicas race, exactly
//! `max_uses` updates match, and each matching one is counted once. No read
//! precedes it, so there is no read-then-write window to lose.
//!
//! # The others
//! Tokens without `max_uses` count their uses in memory
//! ([`crate::replica::last_use`]) and add them with the batched last-use write, so
//! `uses` is approximate for them (it lags by at most about a minute, and a
//! crash loses the uses not yet written). `uses` is not watched by the change
//! trigger: a use never empties any replica's memory view.

use super::*;

/// Takes one use of limited token `id` at `now` (also its last use). Answers
/// the token's uses counting this one, or None when none is left (or the
/// token is revoked or unknown): the caller refuses then, see [`refusal`].
pub async fn take_use(
    c: &mut AnyConnection,
    id: Uuid,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "UPDATE tokens SET uses = uses + 1, last_used_at = $2 \
         WHERE id = $1 AND max_uses IS NOT NULL AND uses < max_uses AND revoked_at IS NULL \
         RETURNING uses",
    )
    .bind(id.to_string())
    .bind(now)
    .fetch_optional(c)
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("uses")?),
        None => None,
    })
}

/// Why [`take_use`] took nothing: the token was revoked meanwhile (true), or
/// it has no use left (false).
pub async fn refusal_is_revoked(c: &mut AnyConnection, id: Uuid) -> Result<bool, StoreError> {
    let revoked: Option<Option<i64>> =
        sqlx::query_scalar("SELECT revoked_at FROM tokens WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(c)
            .await?;
    Ok(revoked.is_none_or(|r| r.is_some()))
}

/// The uses of token `id` so far (0 for an unknown token).
pub async fn uses_of(c: &mut AnyConnection, id: Uuid) -> Result<i64, StoreError> {
    let n: Option<i64> = sqlx::query_scalar("SELECT uses FROM tokens WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(c)
        .await?;
    Ok(n.unwrap_or(0))
}

/// Records a use of unlimited token `id` at `now` directly (its first on this
/// replica, when the stored last use is over a minute old): last use, and
/// `n` uses counted.
pub async fn touch_and_count(
    c: &mut AnyConnection,
    id: Uuid,
    now: i64,
    n: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE tokens SET uses = uses + $3, \
         last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END \
         WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(n)
    .execute(c)
    .await?;
    Ok(())
}

/// One batched write: each `(id, at, n)` sets `last_used_at` to `at` unless it
/// is already as recent, and adds `n` uses. One statement for all of them.
pub async fn flush_uses(
    c: &mut AnyConnection,
    uses: &[(Uuid, i64, i64)],
) -> Result<(), StoreError> {
    if uses.is_empty() {
        return Ok(());
    }
    let mut at = String::from("CASE id");
    let mut add = String::from("CASE id");
    let mut ids = Vec::with_capacity(uses.len());
    let mut args: Vec<Arg> = Vec::with_capacity(uses.len() * 4);
    for (token, when, n) in uses {
        args.push(Arg::Text(token.to_string()));
        let id = args.len();
        ids.push(format!("${id}"));
        args.push(Arg::Int(*when));
        at.push_str(&format!(" WHEN ${id} THEN ${}", args.len()));
        args.push(Arg::Int(*n));
        add.push_str(&format!(" WHEN ${id} THEN ${}", args.len()));
    }
    at.push_str(" END");
    add.push_str(" END");
    let text = format!(
        "UPDATE tokens SET uses = uses + ({add}), \
         last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ({at}) THEN ({at}) ELSE last_used_at END \
         WHERE id IN ({})",
        ids.join(", ")
    );
    super::bound(&text, &args).execute(c).await?;
    Ok(())
}
