//! The `orgs` table: the tenants.

use super::*;

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub max_token_lifetime: Option<i64>,
    /// Seconds before expiry at which `token.expiring` fires.
    pub expiry_warning: i64,
    pub created_at: i64,
}

impl OrgRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(r, "id")?,
            name: r.try_get("name")?,
            max_token_lifetime: r.try_get("max_token_lifetime")?,
            expiry_warning: r.try_get("expiry_warning")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

pub async fn insert_org(c: &mut AnyConnection, o: &OrgRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO orgs (id, name, max_token_lifetime, expiry_warning, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(o.id.to_string())
    .bind(&o.name)
    .bind(o.max_token_lifetime)
    .bind(o.expiry_warning)
    .bind(o.created_at)
    .execute(c)
    .await?;
    Ok(())
}

const ORG_COLS: &str = "id, name, max_token_lifetime, expiry_warning, created_at";

pub async fn find_org(c: &mut AnyConnection, r: &str) -> Result<Option<OrgRow>, StoreError> {
    Sql::new(&format!("SELECT {ORG_COLS} FROM orgs WHERE 1=1"))
        .and_eq(id_or_name(r), Some(r))
        .fetch_optional(c, OrgRow::from_row)
        .await
}

pub async fn list_orgs(
    c: &mut AnyConnection,
    only: Option<Uuid>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<OrgRow>, StoreError> {
    Sql::new(&format!("SELECT {ORG_COLS} FROM orgs WHERE 1=1"))
        .and_id("id", only)
        .page("id", after, limit)
        .fetch_all(c, OrgRow::from_row)
        .await
}

pub async fn count_orgs(c: &mut AnyConnection) -> Result<i64, StoreError> {
    sqlx::query("SELECT COUNT(*) AS n FROM orgs")
        .fetch_one(c)
        .await?
        .try_get("n")
        .map_err(StoreError::from)
}

/// When a server first bootstrapped this database (migration 0008's marker
/// row), if one did.
pub async fn instance_initialized_at(c: &mut AnyConnection) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT initialized_at FROM sigil_instance WHERE id = 1")
        .fetch_optional(c)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("initialized_at")?),
        None => None,
    })
}

/// Writes the marker row once (replicas starting together: the first wins).
pub async fn mark_instance_initialized(c: &mut AnyConnection, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sigil_instance (id, initialized_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
    )
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Sets the org's expiry warning (seconds before expiry).
pub async fn set_org_expiry_warning(
    c: &mut AnyConnection,
    id: Uuid,
    secs: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE orgs SET expiry_warning = $1 WHERE id = $2")
        .bind(secs)
        .bind(id.to_string())
        .execute(c)
        .await?;
    Ok(())
}
