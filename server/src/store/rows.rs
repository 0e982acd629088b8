//! Rows as stored, decoded from either backend.

use sigil_proto::ClaimSet;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

fn claims(row: &AnyRow, col: &str) -> Result<ClaimSet, sqlx::Error> {
    let text: String = row.try_get(col)?;
    let list: Vec<String> =
        serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    ClaimSet::parse(&list).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub max_token_lifetime: Option<i64>,
    pub created_at: i64,
}

impl OrgRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            max_token_lifetime: r.try_get("max_token_lifetime")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct PrincipalRow {
    pub id: String,
    pub org_id: String,
    /// `bot` or `user`.
    pub kind: String,
    /// Username (bot) or email (user).
    pub name: String,
    pub description: String,
    pub permissions: ClaimSet,
    pub identities: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl PrincipalRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let ids: String = r.try_get("identities")?;
        Ok(Self {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            kind: r.try_get("kind")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            permissions: claims(r, "permissions")?,
            identities: serde_json::from_str(&ids).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct AppRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub created_at: i64,
}

impl AppRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub kid: String,
    pub public_key: String,
    pub private_key_enc: String,
    pub created_at: i64,
    pub max_token_exp: i64,
}

impl KeyRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            kid: r.try_get("kid")?,
            public_key: r.try_get("public_key")?,
            private_key_enc: r.try_get("private_key_enc")?,
            created_at: r.try_get("created_at")?,
            max_token_exp: r.try_get("max_token_exp")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub owner_id: String,
    pub owner_kind: String,
    pub owner_name: String,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    pub label: Option<String>,
    pub claims: ClaimSet,
    pub kid: String,
    pub created_at: i64,
    pub created_by: String,
    pub created_by_name: String,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

impl TokenRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            org_name: r.try_get("org_name").unwrap_or_default(),
            owner_id: r.try_get("owner_id")?,
            owner_kind: r.try_get("owner_kind")?,
            owner_name: r.try_get("owner_name")?,
            app_id: r.try_get("app_id")?,
            app_name: r.try_get("app_name").unwrap_or(None),
            label: r.try_get("label")?,
            claims: claims(r, "claims")?,
            kid: r.try_get("kid")?,
            created_at: r.try_get("created_at")?,
            created_by: r.try_get("created_by")?,
            created_by_name: r.try_get("created_by_name")?,
            expires_at: r.try_get("expires_at")?,
            last_used_at: r.try_get("last_used_at")?,
            revoked_at: r.try_get("revoked_at")?,
            revoked_by: r.try_get("revoked_by")?,
            revoke_reason: r.try_get("revoke_reason")?,
        })
    }

    pub fn status(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(Debug, Clone)]
pub struct RevocationRow {
    pub seq: i64,
    pub token_id: String,
    pub org_name: String,
    pub revoked_at: i64,
}

impl RevocationRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            seq: r.try_get("seq")?,
            token_id: r.try_get("token_id")?,
            org_name: r.try_get("org_name")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: String,
    pub org_id: String,
    pub actor_id: Option<String>,
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
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            actor_id: r.try_get("actor_id")?,
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
