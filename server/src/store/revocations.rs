//! The `revocations` table: one row per revoked token, numbered in commit
//! order (`seq`), which the feed and `WatchRevocations` page through.

use super::*;

#[derive(Debug, Clone)]
pub struct RevocationRow {
    pub seq: i64,
    pub token_id: Uuid,
    pub org_name: String,
    pub revoked_at: i64,
}

impl RevocationRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            seq: r.try_get("seq")?,
            token_id: id(r, "token_id")?,
            org_name: r.try_get("org_name")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }
}

/// Revocations after cursor `since`, in cursor order, at most `limit`; only
/// those of org `org` when given — filtered in the query, before the limit,
/// so a page of one org says nothing about the others.
pub async fn revocations_since(
    c: &mut AnyConnection,
    since: i64,
    limit: i64,
    org: Option<&str>,
) -> Result<Vec<RevocationRow>, StoreError> {
    Sql::new(
        "SELECT r.seq, r.token_id, r.revoked_at, o.name AS org_name FROM revocations r \
         JOIN orgs o ON o.id = r.org_id WHERE 1 = 1",
    )
    .and_eq("o.name", org)
    .push(" AND r.seq > $?", Arg::Int(since))
    .raw(" ORDER BY r.seq")
    .push(" LIMIT $?", Arg::Int(limit))
    .fetch_all(c, RevocationRow::from_row)
    .await
}

/// The newest revocation cursor (0 when none): what the catch-up loop of
/// [`crate::jobs::peers`] compares.
pub async fn max_revocation_seq(pool: &AnyPool) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM revocations")
        .fetch_one(pool)
        .await?;
    Ok(row.try_get::<i64, _>("m")?)
}
