//! Webhooks, their events and delivery log: `/v1/orgs/{org}/webhooks`.

use super::schema::*;
use crate::secret::SecretString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One of an org's webhooks. The signing secret is answered once, at create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub org: String,
    pub url: String,
    /// Event types (see [`crate::rules::EVENT_TYPES`]) or `*`.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `POST /v1/orgs/{org}/webhooks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://`, at most 2048 characters.
    #[schemars(schema_with = "webhook_url")]
    pub url: String,
    /// Event types or `*` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "events_opt")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    /// The HMAC secret (16–256 characters); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "webhook_secret_opt")]
    pub secret: Option<SecretString>,
}

/// The answer to a webhook create: the webhook and its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedWebhook {
    pub secret: SecretString,
    #[serde(flatten)]
    pub webhook: Webhook,
}

/// `PATCH /v1/orgs/{org}/webhooks/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "webhook_url_opt")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "events_opt")]
    pub events: Option<Vec<String>>,
    /// An empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    /// A new HMAC secret (16–256 characters) that replaces the current one at
    /// once; never answered back. Deliveries signed from then on use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "webhook_secret_opt")]
    pub secret: Option<SecretString>,
}

/// What a webhook receives: `POST url` with this body (never a JWT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub id: Uuid,
    /// `token.issued`, `token.revoked`, … (see [`crate::rules::EVENT_TYPES`]).
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// The org's name.
    pub org: String,
    pub data: serde_json::Value,
}

/// One attempt to deliver an event to a webhook (`GET …/webhooks/{id}/deliveries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// The `Sigil-Delivery` header: one id per (event, webhook), the same on retries.
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `delivered` (2xx), `failed` (will be retried), `gave_up` (after 24 h).
    pub result: String,
    /// The receiver's HTTP status, when it answered.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Why the attempt failed (timeout, connection refused, …), without secrets.
    #[serde(default)]
    pub error: Option<String>,
    pub duration_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub attempted_at: OffsetDateTime,
    /// When the next attempt is due, after a failure.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "rfc3339_or_null")]
    pub next_attempt_at: Option<OffsetDateTime>,
}
