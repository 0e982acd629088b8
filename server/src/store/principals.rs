//! The `principals` table: bots and users (one table, a `kind` column).

use super::*;

#[derive(Debug, Clone)]
pub struct PrincipalRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: Kind,
    /// Username (bot) or email (user).
    pub name: String,
    pub description: String,
    pub permissions: ClaimSet,
    pub identities: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl PrincipalRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let ids: String = r.try_get("identities")?;
        Ok(Self {
            id: id(r, "id")?,
            org_id: id(r, "org_id")?,
            kind: kind(r, "kind")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            permissions: claims(r, "permissions")?,
            identities: serde_json::from_str(&ids).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

const PRINCIPAL_COLS: &str =
    "id, org_id, kind, name, description, permissions, identities, created_at, updated_at";

pub async fn insert_principal(c: &mut AnyConnection, p: &PrincipalRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO principals (id, org_id, kind, name, description, permissions, identities, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(p.id.to_string())
    .bind(p.org_id.to_string())
    .bind(p.kind.as_str())
    .bind(&p.name)
    .bind(&p.description)
    .bind(json_claims(&p.permissions))
    .bind(serde_json::to_string(&p.identities).unwrap_or_else(|_| "{}".into()))
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn update_principal(c: &mut AnyConnection, p: &PrincipalRow) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE principals SET name = $1, description = $2, permissions = $3, identities = $4, updated_at = $5 \
         WHERE id = $6",
    )
    .bind(&p.name)
    .bind(&p.description)
    .bind(json_claims(&p.permissions))
    .bind(serde_json::to_string(&p.identities).unwrap_or_else(|_| "{}".into()))
    .bind(p.updated_at)
    .bind(p.id.to_string())
    .execute(c)
    .await?;
    Ok(())
}

/// A principal by id (any org, any kind): used by authentication.
pub async fn get_principal(
    c: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<PrincipalRow>, StoreError> {
    Sql::new(&format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE 1=1"
    ))
    .and_id("id", Some(id))
    .fetch_optional(c, PrincipalRow::from_row)
    .await
}

/// A principal of `kind` in `org_id`, by id or name.
pub async fn find_principal(
    c: &mut AnyConnection,
    org_id: Uuid,
    kind: Option<crate::domain::principal::Kind>,
    r: &str,
) -> Result<Option<PrincipalRow>, StoreError> {
    Sql::new(&format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE 1=1"
    ))
    .and_id("org_id", Some(org_id))
    .and_eq(id_or_name(r), Some(r))
    .and_eq("kind", kind.map(|k| k.as_str()))
    .fetch_optional(c, PrincipalRow::from_row)
    .await
}

pub async fn list_principals(
    c: &mut AnyConnection,
    org_id: Uuid,
    kind: crate::domain::principal::Kind,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PrincipalRow>, StoreError> {
    Sql::new(&format!(
        "SELECT {PRINCIPAL_COLS} FROM principals WHERE 1=1"
    ))
    .and_id("org_id", Some(org_id))
    .and_eq("kind", Some(kind.as_str()))
    .page("id", after, limit)
    .fetch_all(c, PrincipalRow::from_row)
    .await
}

pub async fn delete_principal(c: &mut AnyConnection, id: Uuid) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM principals WHERE id = $1")
        .bind(id.to_string())
        .execute(c)
        .await?;
    Ok(())
}
