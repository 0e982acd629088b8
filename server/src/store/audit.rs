//! The `audit` table: who did what, when, from where; written in the
//! transaction of the change it records.

use super::*;

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
        })
    }
}

const AUDIT_COLS: &str =
    "id, org_id, actor_id, actor_name, action, target_type, target_id, details, client_ip, created_at";

pub async fn insert_audit(c: &mut AnyConnection, a: &AuditRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (id, org_id, actor_id, actor_name, action, target_type, target_id, details, client_ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(a.id.to_string())
    .bind(a.org_id.to_string())
    .bind(a.actor_id.map(|a| a.to_string()))
    .bind(&a.actor_name)
    .bind(&a.action)
    .bind(&a.target_type)
    .bind(a.target_id.clone())
    .bind(a.details.to_string())
    .bind(a.client_ip.clone())
    .bind(a.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn list_audit(
    c: &mut AnyConnection,
    org_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Sql::new(&format!("SELECT {AUDIT_COLS} FROM audit WHERE 1=1"))
        .and_id("org_id", Some(org_id))
        .page("id", after, limit)
        .fetch_all(c, AuditRow::from_row)
        .await
}
