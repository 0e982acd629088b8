//! The authenticated caller and what it may do.

use sigil_proto::ClaimSet;
use uuid::Uuid;

/// The two kinds of principal. Bots and users are one kind of thing: they
/// differ in how they are named, which scope of Sigil's API governs them,
/// and how long their tokens may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A non-human user, named by a username; may hold long-lived tokens.
    Bot,
    /// A human, named by an email; holds short-lived tokens only.
    User,
}

impl Kind {
    /// As stored, and on the wire (`kind`, `owner_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bot => "bot",
            Kind::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "bot" => Some(Kind::Bot),
            "user" => Some(Kind::User),
            _ => None,
        }
    }

    /// The scope of Sigil's own API that governs this kind (`bots`, `users`).
    pub fn scope(self) -> &'static str {
        match self {
            Kind::Bot => "bots",
            Kind::User => "users",
        }
    }

    /// The field that names a principal of this kind.
    pub fn name_field(self) -> &'static str {
        match self {
            Kind::Bot => "username",
            Kind::User => "email",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling, through which token, with which effective rights.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: Uuid,
    pub kind: Kind,
    pub name: String,
    pub org_id: Uuid,
    pub org_name: String,
    /// The root org (the first one, `default`) may administer other orgs.
    pub in_root_org: bool,
    pub app_id: Option<Uuid>,
    pub app_name: Option<String>,
    pub token_id: Uuid,
    pub expires_at: i64,
    /// The token's `iat` (= `nbf`).
    pub issued_at: i64,
    /// The token's claims, as issued.
    pub token_claims: ClaimSet,
    /// The owner's permissions now.
    pub permissions: ClaimSet,
    /// The token this one was derived from (None: issued directly).
    pub parent_id: Option<Uuid>,
    /// Networks the token may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<sigil_proto::ipnet::IpNet>,
    /// Successful authentications the token allows; None: unlimited.
    pub max_uses: Option<i64>,
    /// For a token with `max_uses`: its uses counting this authentication's
    /// (set only when this authentication took a use; never cached).
    pub uses: Option<i64>,
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

    /// Whether a client at `from` may use this token (`None`: the address is
    /// not known, allowed only for a token bound nowhere).
    pub fn address_allowed(&self, from: Option<std::net::IpAddr>) -> bool {
        self.allowed_cidrs.is_empty()
            || from.is_some_and(|a| sigil_proto::rules::address_allowed(&self.allowed_cidrs, a))
    }

    /// The token's status as this authentication leaves it: `exhausted` when
    /// it took the last use, else `active` (an authenticated token is neither
    /// revoked nor expired).
    pub fn status(&self) -> sigil_proto::rules::TokenStatus {
        sigil_proto::rules::TokenStatus::of(false, false, self.uses.unwrap_or(0), self.max_uses)
    }

    /// The effective claims as a list, for display.
    pub fn effective_claims(&self) -> ClaimSet {
        self.token_claims.intersect(&self.permissions)
    }
}
