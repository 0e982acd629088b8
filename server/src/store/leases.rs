//! The tables of verification from memory (`change_head`, `leases`; migration
//! `0002_leases.sql`), the one-query read that authentication does on a miss,
//! and the batched `last_used_at` flush. See [`crate::replica::lease`] for the protocol.

use super::*;

/// The database clock in milliseconds, per backend. It only decides which
/// lease rows are old enough to ignore (see [`peer_leases`]); lease validity
/// itself is measured on each replica's monotonic clock.
fn db_now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

/// The change head: (every change, signing-key changes). Inside a changing
/// transaction this is the transaction's own change (the row is locked by it
/// until commit); elsewhere, the newest committed one.
pub async fn change_head(c: &mut AnyConnection) -> Result<(i64, i64), StoreError> {
    let r = sqlx::query("SELECT seq, keys_seq FROM change_head WHERE id = 1")
        .fetch_one(c)
        .await?;
    Ok((r.try_get("seq")?, r.try_get("keys_seq")?))
}

/// Creates or renews `replica`'s lease, recording the change it has applied.
pub async fn renew_lease(
    c: &mut AnyConnection,
    replica: &str,
    applied: i64,
) -> Result<(), StoreError> {
    let now = db_now_ms(Backend::of(c));
    sqlx::query(&format!(
        "INSERT INTO leases (replica, applied, renewed_at) VALUES ($1, $2, {now}) \
         ON CONFLICT (replica) DO UPDATE SET renewed_at = EXCLUDED.renewed_at, \
         applied = CASE WHEN leases.applied > EXCLUDED.applied THEN leases.applied ELSE EXCLUDED.applied END"
    ))
    .bind(replica)
    .bind(applied)
    .execute(c)
    .await?;
    Ok(())
}

/// Acknowledges: `replica` has applied every change up to `applied`.
pub async fn ack_lease(pool: &AnyPool, replica: &str, applied: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE leases SET applied = $1 WHERE replica = $2 AND applied < $1")
        .bind(applied)
        .bind(replica)
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives the lease up (graceful shutdown): nobody waits for this replica.
pub async fn drop_lease(pool: &AnyPool, replica: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM leases WHERE replica = $1")
        .bind(replica)
        .execute(pool)
        .await?;
    Ok(())
}

/// Another replica's lease row.
#[derive(Debug, Clone)]
pub struct PeerLease {
    pub replica: String,
    pub applied: i64,
}

/// The other replicas that renewed within `recent_ms` (database clock) and
/// have not applied `seq` yet: those a change must wait for.
pub async fn peer_leases(
    pool: &AnyPool,
    backend: Backend,
    me: &str,
    seq: i64,
    recent_ms: i64,
) -> Result<Vec<PeerLease>, StoreError> {
    let now = db_now_ms(backend);
    sqlx::query(&format!(
        "SELECT replica, applied FROM leases WHERE replica <> $1 AND applied < $2 AND renewed_at > {now} - $3"
    ))
    .bind(me)
    .bind(seq)
    .bind(recent_ms)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(PeerLease {
            replica: r.try_get("replica")?,
            applied: r.try_get("applied")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()
    .map_err(StoreError::from)
}

/// Removes lease rows not renewed for `older_ms` (replicas that crashed).
pub async fn forget_old_leases(
    pool: &AnyPool,
    backend: Backend,
    older_ms: i64,
) -> Result<(), StoreError> {
    let now = db_now_ms(backend);
    sqlx::query(&format!("DELETE FROM leases WHERE renewed_at < {now} - $1"))
        .bind(older_ms)
        .execute(pool)
        .await?;
    Ok(())
}

/// What authentication needs of a token, read in one query: the token row,
/// its org and app names, its owner (absent: deleted) and whether its signing
/// key still exists.
#[derive(Debug, Clone)]
pub struct AuthRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub owner_id: Uuid,
    pub app_id: Option<Uuid>,
    pub app_name: Option<String>,
    pub claims: ClaimSet,
    pub kid: String,
    pub expires_at: i64,
    pub revoked: bool,
    pub key_exists: bool,
    /// (kind, name, permissions) of the owner, when it exists.
    pub owner: Option<(Kind, String, ClaimSet)>,
    pub last_used_at: Option<i64>,
    pub parent_id: Option<Uuid>,
    /// Networks the token may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<sigil_proto::ipnet::IpNet>,
    pub max_uses: Option<i64>,
}

pub async fn auth_row(
    c: &mut AnyConnection,
    token_id: Uuid,
) -> Result<Option<AuthRow>, StoreError> {
    let row = sqlx::query(
        "SELECT t.id, t.org_id, o.name AS org_name, t.owner_id, t.app_id, a.name AS app_name, t.claims, t.kid, \
         t.expires_at, t.revoked_at, t.last_used_at, t.parent_id, t.allowed_cidrs, t.max_uses, k.kid AS key_kid, p.kind AS p_kind, p.name AS p_name, \
         p.permissions AS p_permissions \
         FROM tokens t JOIN orgs o ON o.id = t.org_id LEFT JOIN apps a ON a.id = t.app_id \
         LEFT JOIN principals p ON p.id = t.owner_id LEFT JOIN signing_keys k ON k.kid = t.kid \
         WHERE t.id = $1",
    )
    .bind(token_id.to_string())
    .fetch_optional(c)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let decode = || -> Result<AuthRow, sqlx::Error> {
        let p_kind: Option<String> = r.try_get("p_kind")?;
        let owner = match p_kind {
            Some(_) => Some((
                kind(&r, "p_kind")?,
                r.try_get("p_name")?,
                claims(&r, "p_permissions")?,
            )),
            None => None,
        };
        let revoked_at: Option<i64> = r.try_get("revoked_at")?;
        let key_kid: Option<String> = r.try_get("key_kid")?;
        Ok(AuthRow {
            id: id(&r, "id")?,
            org_id: id(&r, "org_id")?,
            org_name: r.try_get("org_name")?,
            owner_id: id(&r, "owner_id")?,
            app_id: opt_id(&r, "app_id")?,
            app_name: r.try_get("app_name").unwrap_or(None),
            claims: claims(&r, "claims")?,
            kid: r.try_get("kid")?,
            expires_at: r.try_get("expires_at")?,
            revoked: revoked_at.is_some(),
            key_exists: key_kid.is_some(),
            owner,
            last_used_at: r.try_get("last_used_at")?,
            parent_id: opt_id(&r, "parent_id")?,
            allowed_cidrs: super::tokens::cidrs(&r, "allowed_cidrs")?,
            max_uses: r.try_get("max_uses")?,
        })
    };
    Ok(Some(decode()?))
}

/// Records last use of many tokens in one statement: each `(id, at)` sets
/// `last_used_at` to `at` unless it is already as recent.
pub async fn flush_last_used(
    c: &mut AnyConnection,
    uses: &[(Uuid, i64)],
) -> Result<(), StoreError> {
    if uses.is_empty() {
        return Ok(());
    }
    let mut case = String::from("CASE id");
    let mut ids = Vec::with_capacity(uses.len());
    let mut args: Vec<Arg> = Vec::with_capacity(uses.len() * 3);
    for (token, at) in uses {
        args.push(Arg::Text(token.to_string()));
        args.push(Arg::Int(*at));
        case.push_str(&format!(" WHEN ${} THEN ${}", args.len() - 1, args.len()));
    }
    case.push_str(" END");
    for (token, _) in uses {
        args.push(Arg::Text(token.to_string()));
        ids.push(format!("${}", args.len()));
    }
    let text = format!(
        "UPDATE tokens SET last_used_at = {case} WHERE id IN ({}) AND (last_used_at IS NULL OR last_used_at < {case})",
        ids.join(", ")
    );
    super::bound(&text, &args).execute(c).await?;
    Ok(())
}
