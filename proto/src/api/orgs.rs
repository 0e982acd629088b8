//! Orgs: `/v1/orgs`.

use super::schema::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// The longest lifetime a token of this org may have, in seconds; none when uncapped.
    #[serde(default)]
    pub max_token_lifetime: Option<i64>,
    /// How long before a token expires its org's webhooks get `token.expiring`,
    /// in seconds (default 14 days).
    #[serde(default = "default_expiry_warning")]
    pub expiry_warning: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

fn default_expiry_warning() -> i64 {
    crate::rules::DEFAULT_EXPIRY_WARNING_SECS
}

/// `PATCH /v1/orgs/{org}`: change an org's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    /// A duration (`14d`, `72h`) before expiry at which `token.expiring` fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "duration_opt")]
    pub expiry_warning: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    #[schemars(schema_with = "org_name")]
    pub name: String,
    /// A cap on token lifetimes in this org: a duration such as `90d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "duration_opt")]
    pub max_token_lifetime: Option<String>,
}
