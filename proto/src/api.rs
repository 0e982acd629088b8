//! REST request and response types of `/v1`. Times are RFC 3339 on the wire.

use crate::secret::SecretString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// An RFC 3339 time, in the OpenAPI document.
fn rfc3339(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "format": "date-time"})
}

fn rfc3339_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "format": "date-time", "nullable": true})
}

/// One page of a list; pass `next_cursor` back as `cursor` for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// The longest lifetime a token of this org may have, in seconds; none when uncapped.
    #[serde(default)]
    pub max_token_lifetime: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreateOrg {
    pub name: String,
    /// A cap on token lifetimes in this org: a duration such as `90d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_token_lifetime: Option<String>,
}

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
pub struct CreateUser {
    pub email: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
pub struct CreateBot {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identities: BTreeMap<String, String>,
}

/// `PATCH …/bots/{bot}`: fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateBot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Replaces the whole map when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<BTreeMap<String, String>>,
}

/// `PUT …/bots/{bot}/identities/{service}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PutIdentity {
    /// The bot's identity in that service (a user id, an ARN, a login).
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
pub struct CreateApp {
    pub name: String,
}

/// Token metadata. The JWT itself is only in [`IssuedToken`], once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Token {
    pub id: Uuid,
    pub org: String,
    /// Owner id (the JWT `sub`).
    pub owner_id: Uuid,
    /// Owner's username (bot) or email (user).
    pub owner: String,
    /// `bot` or `user`.
    pub owner_kind: String,
    #[serde(default)]
    pub label: Option<String>,
    pub claims: Vec<String>,
    /// `org` or `app`.
    pub scope: String,
    #[serde(default)]
    pub app_id: Option<Uuid>,
    #[serde(default)]
    pub app: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Id of the principal that issued it.
    pub created_by: Uuid,
    /// Name of the principal that issued it.
    pub created_by_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "rfc3339_or_null")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "rfc3339_or_null")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub revoked_by: Option<Uuid>,
    #[serde(default)]
    pub revoke_reason: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

/// `POST /v1/orgs/{org}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssueToken {
    /// The bot or user the token is for: id, bot username or user email.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A duration (`100d`, `1h30m`, …) from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// An absolute RFC 3339 time. Exactly one of `expiry` and `expires_at`, or
    /// neither (then the server's default lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Scope the token to this app (id or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Defaults to all of the owner's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<String>>,
}

/// The answer to an issue: the metadata plus the JWT, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssuedToken {
    pub token: SecretString,
    #[serde(flatten)]
    pub metadata: Token,
}

/// `PATCH /v1/orgs/{org}/tokens/{id}`: change the label, or shorten the expiry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateToken {
    /// A new label; an empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `DELETE /v1/orgs/{org}/tokens/{id}` (optional body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevokeToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Query of `GET /v1/orgs/{org}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenFilter {
    /// Owner id, bot username or user email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// `org` or `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_revoked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Query of any other list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `POST /v1/revoke` (RFC 7009): form or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevokeByValue {
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
}

/// `POST /v1/introspect` (RFC 7662): form or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntrospectRequest {
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
}

/// RFC 7662 answer. An inactive token answers only `{"active": false}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Introspection {
    pub active: bool,
    /// Space-separated effective claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<String>>,
}

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Revocation {
    pub token_id: Uuid,
    pub org: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub revoked_at: OffsetDateTime,
    /// Pass as `since` to resume after this entry.
    pub cursor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevocationFeed {
    pub items: Vec<Revocation>,
    /// The cursor to pass as `since` next time.
    pub cursor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub org: String,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    /// e.g. `bot.create`, `token.issue`, `token.revoke`.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
    pub client_ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SigningKey {
    pub kid: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_is_flat_and_debug_hides_the_jwt() {
        let t = IssuedToken {
            token: SecretString::new("header.payload.signature"),
            metadata: Token {
                id: Uuid::nil(),
                org: "default".into(),
                owner_id: Uuid::nil(),
                owner: "steve".into(),
                owner_kind: "bot".into(),
                label: Some("ci".into()),
                claims: vec!["*:*:*".into()],
                scope: "org".into(),
                app_id: None,
                app: None,
                created_at: OffsetDateTime::UNIX_EPOCH,
                created_by: Uuid::nil(),
                created_by_name: "owner".into(),
                expires_at: OffsetDateTime::UNIX_EPOCH,
                last_used_at: None,
                revoked_at: None,
                revoked_by: None,
                revoke_reason: None,
                status: "active".into(),
            },
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["token"], "header.payload.signature");
        assert_eq!(v["id"], Uuid::nil().to_string());
        assert!(!format!("{t:?}").contains("payload"));
        let back: IssuedToken = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }
}
