//! The `audit` table: who did what, when, from where; written in the
//! transaction of the change it records.

use super::*;
use crate::domain::audit_chain::{link, Entry, CURRENT_VERSION, GENESIS};

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
    pub client_ip: Option<String>,
    pub created_at: i64,
    /// Place in the org's chain, from 1; set when written.
    pub seq: Option<i64>,
    /// Hex SHA-256 link of the chain; set when written.
    pub hash: Option<String>,
    /// Which canonical form the hash covers
    /// ([`crate::domain::audit_chain`]): 1 before migration 0007, else 2.
    pub chain_version: i64,
}

impl AuditRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let details: String = r.try_get("details")?;
        Ok(Self {
            id: id(r, "id")?,
            org_id: id(r, "org_id")?,
            actor_id: opt_id(r, "actor_id")?,
            actor_name: r.try_get("actor_name")?,
            action: r.try_get("action")?,
            target_type: r.try_get("target_type")?,
            target_id: r.try_get("target_id")?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            client_ip: r.try_get("client_ip")?,
            created_at: r.try_get("created_at")?,
            seq: r.try_get("seq")?,
            hash: r.try_get("hash")?,
            chain_version: r.try_get("chain_version")?,
        })
    }

    /// What this row's hash covers, at `seq`.
    fn chain_entry<'a>(
        &'a self,
        id: &'a str,
        org_id: &'a str,
        actor_id: Option<&'a str>,
        seq: i64,
    ) -> Entry<'a> {
        Entry {
            id,
            org_id,
            seq,
            actor_id,
            actor_name: &self.actor_name,
            action: &self.action,
            target_type: &self.target_type,
            target_id: self.target_id.as_deref(),
            details: &self.details,
            client_ip: self.client_ip.as_deref(),
            created_at: self.created_at,
        }
    }

    /// The hash this row should have after `prev`, at its `seq` (`None` for a
    /// row outside the chain).
    pub fn expected_hash(&self, prev: &str) -> Option<String> {
        let seq = self.seq?;
        let (id, org_id) = (self.id.to_string(), self.org_id.to_string());
        let actor_id = self.actor_id.map(|a| a.to_string());
        Some(link(
            self.chain_version,
            prev,
            &self.chain_entry(&id, &org_id, actor_id.as_deref(), seq),
        ))
    }
}

const AUDIT_COLS: &str =
    "id, org_id, actor_id, actor_name, action, target_type, target_id, details, client_ip, created_at, seq, hash, \
     chain_version";

pub async fn insert_audit(c: &mut AnyConnection, a: &AuditRow) -> Result<(), StoreError> {
    insert_audits(c, &[a]).await
}

/// Writes `rows` at the end of their orgs' chains, in order, in one INSERT.
/// Each org's head row is locked (an UPDATE) before it is read, orgs in id
/// order, so concurrent writers, on any replica, take turns per org and can
/// neither fork a chain nor deadlock on two heads. The lock is taken last in
/// a unit of work (at commit) and held only until it commits.
pub async fn insert_audits(c: &mut AnyConnection, rows: &[&AuditRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let (chained, heads) = chain(c, rows).await?;
    let mut text = String::from(
        "INSERT INTO audit (id, org_id, actor_id, actor_name, action, target_type, target_id, details, client_ip, \
         created_at, seq, hash, chain_version) VALUES ",
    );
    super::tokens::placeholders(&mut text, rows.len(), 13);
    let mut q = sqlx::query(&text);
    for (a, (seq, hash)) in rows.iter().zip(chained) {
        q = q
            .bind(a.id.to_string())
            .bind(a.org_id.to_string())
            .bind(a.actor_id.map(|a| a.to_string()))
            .bind(a.actor_name.clone())
            .bind(a.action.clone())
            .bind(a.target_type.clone())
            .bind(a.target_id.clone())
            .bind(a.details.to_string())
            .bind(a.client_ip.clone())
            .bind(a.created_at)
            .bind(seq)
            .bind(hash)
            .bind(CURRENT_VERSION);
    }
    q.execute(&mut *c).await?;
    set_heads(c, heads).await
}

type Heads = std::collections::HashMap<Uuid, (i64, String)>;

/// The seq and hash of each of `rows`, in order, after their orgs' locked
/// heads, and the heads that follow.
async fn chain(
    c: &mut AnyConnection,
    rows: &[&AuditRow],
) -> Result<(Vec<(i64, String)>, Heads), StoreError> {
    let mut orgs: Vec<Uuid> = rows.iter().map(|r| r.org_id).collect();
    orgs.sort();
    orgs.dedup();
    let mut heads = Heads::new();
    for org in &orgs {
        heads.insert(*org, lock_head(c, *org).await?);
    }
    let mut chained = Vec::with_capacity(rows.len());
    for r in rows {
        let head = heads
            .get_mut(&r.org_id)
            .ok_or_else(|| StoreError::Other(sqlx::Error::Protocol("audit head missing".into())))?;
        let seq = head.0 + 1;
        let (id, org_id) = (r.id.to_string(), r.org_id.to_string());
        let actor_id = r.actor_id.map(|a| a.to_string());
        let hash = link(
            CURRENT_VERSION,
            &head.1,
            &r.chain_entry(&id, &org_id, actor_id.as_deref(), seq),
        );
        *head = (seq, hash.clone());
        chained.push((seq, hash));
    }
    Ok((chained, heads))
}

async fn set_heads(c: &mut AnyConnection, heads: Heads) -> Result<(), StoreError> {
    for (org, (seq, hash)) in heads {
        sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3")
            .bind(seq)
            .bind(hash)
            .bind(org.to_string())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// The org's chain head (last seq, last hash), locked for this transaction;
/// created at [`GENESIS`] for an org's first entry. One statement in the
/// common case: a no-op write that locks the row until commit on PostgreSQL
/// (SQLite already holds the database's one write lock) and answers it.
async fn lock_head(c: &mut AnyConnection, org: Uuid) -> Result<(i64, String), StoreError> {
    for _ in 0..2 {
        let row =
            sqlx::query("UPDATE audit_heads SET seq = seq WHERE org_id = $1 RETURNING seq, hash")
                .bind(org.to_string())
                .fetch_optional(&mut *c)
                .await?;
        if let Some(r) = row {
            return Ok((r.try_get("seq")?, r.try_get("hash")?));
        }
        // The org's first entry (or another writer creating its head now).
        sqlx::query(
            "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) \
             ON CONFLICT (org_id) DO NOTHING",
        )
        .bind(org.to_string())
        .bind(GENESIS)
        .execute(&mut *c)
        .await?;
    }
    Err(StoreError::Other(sqlx::Error::RowNotFound))
}

/// The org's chain head as last written, if it has one.
pub async fn head(c: &mut AnyConnection, org: Uuid) -> Result<Option<(i64, String)>, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE org_id = $1")
        .bind(org.to_string())
        .fetch_optional(&mut *c)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("seq")?, r.try_get("hash")?)),
        None => None,
    })
}

/// An org's entries in chain order after `after_seq` and up to `up_to`
/// (at most `limit`).
pub async fn chain_page(
    c: &mut AnyConnection,
    org_id: Uuid,
    after_seq: i64,
    up_to: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {AUDIT_COLS} FROM audit WHERE org_id = $1 AND seq > $2 AND seq <= $3 \
         ORDER BY seq LIMIT $4"
    ))
    .bind(org_id.to_string())
    .bind(after_seq)
    .bind(up_to)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows
        .iter()
        .map(AuditRow::from_row)
        .collect::<Result<_, _>>()?)
}

/// Entries of the org outside the chain (no seq): written around it.
pub async fn count_unchained(c: &mut AnyConnection, org_id: Uuid) -> Result<i64, StoreError> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM audit WHERE org_id = $1 AND seq IS NULL")
        .bind(org_id.to_string())
        .fetch_one(&mut *c)
        .await?;
    Ok(r.try_get("n")?)
}

/// Chains the entries written before the chain existed (migration 0005),
/// oldest first, per org. Run at start-up; a no-op once done. Only orgs with
/// no chain yet: an entry slipped into a chained org by hand stays outside,
/// where verification finds it.
pub async fn chain_unchained(pool: &sqlx::AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        // Replicas starting together take turns: the second finds nothing
        // left to chain instead of numbering the same entries again.
        sqlx::query("SELECT pg_advisory_xact_lock(7371196701) AS locked")
            .fetch_one(&mut *tx)
            .await?;
    }
    let rows = sqlx::query(&format!(
        "SELECT {AUDIT_COLS} FROM audit WHERE seq IS NULL \
         AND org_id NOT IN (SELECT org_id FROM audit_heads) ORDER BY created_at, id"
    ))
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<AuditRow> = rows
        .iter()
        .map(AuditRow::from_row)
        .collect::<Result<_, _>>()?;
    let refs: Vec<&AuditRow> = rows.iter().collect();
    let (chained, heads) = chain(&mut tx, &refs).await?;
    for (r, (seq, hash)) in rows.iter().zip(chained) {
        sqlx::query("UPDATE audit SET seq = $1, hash = $2, chain_version = $3 WHERE id = $4")
            .bind(seq)
            .bind(hash)
            .bind(CURRENT_VERSION)
            .bind(r.id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    set_heads(&mut tx, heads).await?;
    tx.commit().await?;
    Ok(())
}
