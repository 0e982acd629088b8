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
}

impl Principal {
    /// Whether the effective rights allow `action` on the object `specific` of type `scope`.
    /// Objects are matched by id and by name, so a claim may name either.
    ///
    /// The effective rights are the token's claims ∩ the owner's current
    /// permissions; an atom is in the intersection exactly when both sets
    /// cover it, so the intersection is never built to decide.
    pub fn allows(&self, scope: &str, action: &str, id: &str, name: Option<&str>) -> bool {
        let both = |s: &str| {
            self.token_claims.allows(scope, action, s) && self.permissions.allows(scope, action, s)
        };
        both(id) || name.is_some_and(both)
    }

    /// The claims of `wanted` that the effective rights do not cover (empty
    /// when the caller holds all of it): A ⊆ T ∩ P exactly when A ⊆ T and A ⊆ P.
    pub fn not_covered<'a>(&self, wanted: &'a ClaimSet) -> Vec<&'a sigil_proto::Claim> {
        let a = wanted.not_covered_by(&self.token_claims);
        let b = wanted.not_covered_by(&self.permissions);
        wanted
            .iter()
            .filter(|c| a.contains(c) || b.contains(c))
            .collect()
    }

    /// The effective claims as a list, for display.
    pub fn effective_claims(&self) -> ClaimSet {
        self.token_claims.intersect(&self.permissions)
    }
}
