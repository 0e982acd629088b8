//! The `apps` table.

use super::*;

#[derive(Debug, Clone)]
pub struct AppRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub created_at: i64,
}

impl AppRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: id(r, "id")?,
            org_id: id(r, "org_id")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

const APP_COLS: &str = "id, org_id, name, created_at";

pub async fn insert_app(c: &mut AnyConnection, a: &AppRow) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO apps (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(a.id.to_string())
        .bind(a.org_id.to_string())
        .bind(&a.name)
        .bind(a.created_at)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn find_app(
    c: &mut AnyConnection,
    org_id: Uuid,
    r: &str,
) -> Result<Option<AppRow>, StoreError> {
    Sql::new(&format!("SELECT {APP_COLS} FROM apps WHERE 1=1"))
        .and_id("org_id", Some(org_id))
        .and_eq(id_or_name(r), Some(r))
        .fetch_optional(c, AppRow::from_row)
        .await
}

pub async fn list_apps(
    c: &mut AnyConnection,
    org_id: Uuid,
    only: Option<Uuid>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AppRow>, StoreError> {
    Sql::new(&format!("SELECT {APP_COLS} FROM apps WHERE 1=1"))
        .and_id("org_id", Some(org_id))
        .and_id("id", only)
        .page("id", after, limit)
        .fetch_all(c, AppRow::from_row)
        .await
}

pub async fn delete_app(c: &mut AnyConnection, id: Uuid) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(id.to_string())
        .execute(c)
        .await?;
    Ok(())
}
