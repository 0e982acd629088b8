//! The `webhooks` table: an org's receivers of events. The HMAC secret rests
//! sealed with the master key (`secret_enc`, see [`crate::domain::keys::MasterKey::seal`]);
//! this module never sees it in clear.

use super::*;

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    /// Event types or `*`.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// The secret, sealed (base64 of nonce ‖ ciphertext).
    pub secret_enc: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl WebhookRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let events: String = r.try_get("events")?;
        Ok(Self {
            id: id(r, "id")?,
            org_id: id(r, "org_id")?,
            url: r.try_get("url")?,
            events: serde_json::from_str(&events).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            description: r.try_get("description")?,
            secret_enc: r.try_get("secret_enc")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }

    /// Whether this webhook subscribes to events of type `ty`.
    pub fn wants(&self, ty: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == ty)
    }
}

const COLS: &str = "id, org_id, url, events, description, secret_enc, created_at, updated_at";

pub async fn insert_webhook(c: &mut AnyConnection, w: &WebhookRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO webhooks ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(w.id.to_string())
    .bind(w.org_id.to_string())
    .bind(&w.url)
    .bind(serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()))
    .bind(&w.description)
    .bind(&w.secret_enc)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn update_webhook(c: &mut AnyConnection, w: &WebhookRow) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, description = $3, secret_enc = $4, \
         updated_at = $5 WHERE id = $6",
    )
    .bind(&w.url)
    .bind(serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()))
    .bind(&w.description)
    .bind(&w.secret_enc)
    .bind(w.updated_at)
    .bind(w.id.to_string())
    .execute(c)
    .await?;
    Ok(())
}

/// Deletes the webhook, its pending deliveries and their log.
pub async fn delete_webhook(c: &mut AnyConnection, id: Uuid) -> Result<(), StoreError> {
    for q in [
        "DELETE FROM delivery_attempts WHERE webhook_id = $1",
        "DELETE FROM deliveries WHERE webhook_id = $1",
        "DELETE FROM webhooks WHERE id = $1",
    ] {
        sqlx::query(q).bind(id.to_string()).execute(&mut *c).await?;
    }
    Ok(())
}

pub async fn get_webhook(
    c: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<WebhookRow>, StoreError> {
    Sql::new(&format!("SELECT {COLS} FROM webhooks WHERE 1=1"))
        .and_id("org_id", Some(org_id))
        .and_id("id", Some(id))
        .fetch_optional(c, WebhookRow::from_row)
        .await
}

/// A webhook by id alone (the delivery worker's lookup).
pub async fn webhook_by_id(
    c: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<WebhookRow>, StoreError> {
    Sql::new(&format!("SELECT {COLS} FROM webhooks WHERE 1=1"))
        .and_id("id", Some(id))
        .fetch_optional(c, WebhookRow::from_row)
        .await
}

pub async fn list_webhooks(
    c: &mut AnyConnection,
    org_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<WebhookRow>, StoreError> {
    Sql::new(&format!("SELECT {COLS} FROM webhooks WHERE 1=1"))
        .and_id("org_id", Some(org_id))
        .page("id", after, limit)
        .fetch_all(c, WebhookRow::from_row)
        .await
}

/// Every webhook of the org (the outbox fans an event out to them).
pub async fn org_webhooks(
    c: &mut AnyConnection,
    org_id: Uuid,
) -> Result<Vec<WebhookRow>, StoreError> {
    Sql::new(&format!("SELECT {COLS} FROM webhooks WHERE 1=1"))
        .and_id("org_id", Some(org_id))
        .raw(" ORDER BY id")
        .fetch_all(c, WebhookRow::from_row)
        .await
}
