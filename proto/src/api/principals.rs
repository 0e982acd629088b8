//! Users, bots (and their identities) and apps of an org.

use super::schema::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub id: Uuid,
    pub org: String,
    pub email: String,
    pub permissions: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schemars(schema_with = "email")]
    pub email: String,
    #[serde(default)]
    #[schemars(schema_with = "claims")]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "email_opt")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bot {
    pub id: Uuid,
    pub org: String,
    pub username: String,
    #[serde(default)]
    pub description: String,
    pub permissions: Vec<String>,
    /// Service name → the bot's identity in that service.
    #[serde(default)]
    pub identities: BTreeMap<String, String>,
    /// Live (not revoked, not expired) tokens the bot holds.
    #[serde(default)]
    pub token_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBot {
    #[schemars(schema_with = "username")]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "claims")]
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "identities")]
    pub identities: BTreeMap<String, String>,
}

/// `PATCH …/bots/{bot}`: fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "username_opt")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "description_opt")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub permissions: Option<Vec<String>>,
    /// Replaces the whole map when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "identities_opt")]
    pub identities: Option<BTreeMap<String, String>>,
}

/// `PUT …/bots/{bot}/identities/{service}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutIdentity {
    /// The bot's identity in that service (a user id, an ARN, a login).
    #[schemars(schema_with = "identity")]
    pub identity: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct App {
    pub id: Uuid,
    pub org: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    #[schemars(schema_with = "org_name")]
    pub name: String,
}
