//! Tokens: issue, attenuate, update, revoke (by id or by value), leak
//! reports, list filters, introspection.

use super::schema::*;
use crate::secret::SecretString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

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
    /// The same as `revoke_reason`, under the name SPEC §6 gives it
    /// (`leaked`, `parent revoked`, `owner deleted`, or the revoker's words).
    #[serde(default)]
    pub revoked_reason: Option<String>,
    /// `active`, `expired`, `revoked` or `exhausted` (see
    /// [`crate::rules::TokenStatus`]).
    pub status: String,
    /// The token this one was derived from (`POST /v1/tokens/attenuate`).
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// Networks the token may be used from; empty: anywhere.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// How many authentications the token allows; none: unlimited.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Successful authentications so far (counted exactly when `max_uses` is set).
    #[serde(default)]
    pub uses: i64,
}

/// `POST /v1/orgs/{org}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["expiry", "expires_at"],
    "properties": {"expiry": {"type": "string"}, "expires_at": {"type": "string"}}}))]
pub struct IssueToken {
    /// The bot or user the token is for: id, bot username or user email.
    #[schemars(schema_with = "owner_ref")]
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_opt")]
    pub label: Option<String>,
    /// A duration (`100d`, `1h30m`, …) from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "expiry_opt")]
    pub expiry: Option<String>,
    /// An absolute RFC 3339 time. Exactly one of `expiry` and `expires_at`, or
    /// neither (then the server's default lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "time_opt")]
    pub expires_at: Option<String>,
    /// Scope the token to this app (id or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "app_ref_opt")]
    pub app: Option<String>,
    /// Defaults to all of the owner's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub claims: Option<Vec<String>>,
    /// Networks (IPv4/IPv6 CIDRs or addresses, at most 32) the token may be used from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "cidrs_opt")]
    pub allowed_cidrs: Option<Vec<String>>,
    /// Authentications allowed (1–1,000,000); none: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_uses_opt")]
    pub max_uses: Option<i64>,
}

/// `POST /v1/tokens/attenuate`, authenticated by the parent token: a child
/// that can only be narrower (claims ⊆ the parent's effective claims, expiry ≤
/// the parent's, same owner and app, bindings at least as narrow). Absent
/// fields are inherited from the parent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["expiry", "expires_at"],
    "properties": {"expiry": {"type": "string"}, "expires_at": {"type": "string"}}}))]
pub struct AttenuateToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "claims_opt")]
    pub claims: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "expiry_opt")]
    pub expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "time_opt")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_opt")]
    pub label: Option<String>,
    /// Scope an org-scoped parent's child to this app; an app-scoped parent's
    /// child keeps the parent's app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "app_ref_opt")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "cidrs_opt")]
    pub allowed_cidrs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_uses_opt")]
    pub max_uses: Option<i64>,
}

/// `POST /v1/leaks`, no authentication: strings found somewhere public.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReport {
    /// 1–1000 strings; each that is a live Sigil token is revoked (`leaked`).
    #[schemars(schema_with = "leak_tokens")]
    pub tokens: Vec<SecretString>,
    /// Where they were found (a URL, a paste, a log), at most 2048 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "leak_source")]
    pub source: Option<String>,
}

/// The answer to a leak report: how many strings were received, never which
/// were tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LeakReceipt {
    pub received: u64,
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
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["expiry", "expires_at"],
    "properties": {"expiry": {"type": "string"}, "expires_at": {"type": "string"}}}))]
pub struct UpdateToken {
    /// A new label; an empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_opt")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "expiry_opt")]
    pub expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "time_opt")]
    pub expires_at: Option<String>,
}

/// `DELETE /v1/orgs/{org}/tokens/{id}` (optional body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "reason_opt")]
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
    /// `active`, `expired`, `revoked`, `exhausted`: repeatable on the wire
    /// (`status=revoked&status=expired`) or comma-separated, as this client
    /// sends it. Given, it replaces `include_revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A duration (`14d`): active tokens expiring within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring_within: Option<String>,
    /// Tokens derived directly from this token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `POST /v1/revoke` (RFC 7009): form or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeByValue {
    #[schemars(schema_with = "token_value")]
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "hint_opt")]
    pub token_type_hint: Option<String>,
}

/// `POST /v1/introspect` (RFC 7662): form or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    #[schemars(schema_with = "token_value")]
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "hint_opt")]
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
    /// Networks the token may be used from (absent: anywhere). A resource
    /// server that introspects enforces it against the address it saw.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_cidrs: Vec<String>,
    /// Authentications the token allows (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    /// Authentications so far (with `max_uses` only; introspection takes none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<i64>,
    /// The token this one was derived from (absent: issued directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
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
                revoked_reason: None,
                status: "active".into(),
                parent_id: None,
                allowed_cidrs: vec![],
                max_uses: None,
                uses: 0,
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
