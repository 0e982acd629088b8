//! The authenticated caller and what it may do.

use sigil_proto::ClaimSet;

/// Who is calling, through which token, with which effective rights.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    /// `bot` or `user`.
    pub kind: String,
    pub name: String,
    pub org_id: String,
    pub org_name: String,
    /// The root org (the first one, `default`) may administer other orgs.
    pub in_root_org: bool,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    pub token_id: String,
    pub expires_at: i64,
    /// The token's `iat` (= `nbf`).
    pub issued_at: i64,
    /// The token's claims, as issued.
    pub token_claims: ClaimSet,
    /// The owner's permissions now.
    pub permissions: ClaimSet,
    /// token claims ∩ current permissions: what the caller may do.
    pub effective: ClaimSet,
}

impl Principal {
    /// Whether the effective rights allow `action` on the object `specific` of type `scope`.
    /// Objects are matched by id and by name, so a claim may name either.
    pub fn allows(&self, scope: &str, action: &str, id: &str, name: Option<&str>) -> bool {
        self.effective.allows(scope, action, id)
            || name.is_some_and(|n| self.effective.allows(scope, action, n))
    }
}
