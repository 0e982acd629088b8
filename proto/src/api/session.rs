//! The caller (`whoami`) and the signing keys.

use super::schema::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Whoami {
    pub id: Uuid,
    /// `bot` or `user`.
    pub kind: String,
    pub name: String,
    pub org: String,
    #[serde(default)]
    pub app: Option<String>,
    pub token_id: Uuid,
    /// Effective claims: the token's claims ∩ the owner's current permissions.
    pub claims: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The token this one was derived from.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// `active`, or `exhausted` when this call used the token's last use.
    #[serde(default = "active")]
    pub status: String,
}

fn active() -> String {
    "active".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SigningKey {
    pub kid: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}
