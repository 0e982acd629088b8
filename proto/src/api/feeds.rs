//! The revocation feed and the audit log.

use super::schema::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

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
    /// Place in the org's hash chain, from 1.
    #[serde(default)]
    pub seq: Option<i64>,
    /// Hex SHA-256 over the previous entry's hash in the org and this
    /// entry's canonical JSON (`docs/audit.md`).
    #[serde(default)]
    pub hash: Option<String>,
    /// The org's id, as the hash covers it.
    #[serde(default)]
    pub org_id: Option<Uuid>,
    /// Which canonical form the hash covers: 2 (RFC 8785, JCS), or 1 for
    /// entries hashed before chain version 2 (`docs/audit.md`).
    #[serde(default)]
    pub chain_version: Option<i64>,
}

/// Query of `GET /v1/orgs/{org}/audit/verify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditVerifyQuery {
    /// The `head` of an earlier verification, kept outside Sigil: the chain
    /// must still pass through it, or the answer says what is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The `entries` of that earlier verification: with `head`, the answer
    /// names the entries missing since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<i64>,
}

/// `GET /v1/orgs/{org}/audit/verify`: the org's chain recomputed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditVerification {
    /// Every entry matches and the chain ends at the recorded head.
    pub ok: bool,
    /// Entries that matched, in chain order.
    pub entries: u64,
    /// The hash of the last entry that matched: keep it elsewhere to detect
    /// a rewrite of the whole chain later.
    #[serde(default)]
    pub head: Option<String>,
    /// The first entry that does not match (absent when it was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<AuditEntry>,
    /// Where the chain breaks: the seq expected there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Why it does not match, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
