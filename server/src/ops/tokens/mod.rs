//! Tokens: issue (with Idempotency-Key), list, view, update, revoke, derive
//! ([`attenuate()`]), and the pieces other operations share: [`mint`] (a signed
//! JWT and its row), [`revoke_tree`] (a token and every token derived from
//! it) and [`revoke_all`] (every token of an owner or an app).
//!
//! # Derived tokens and their parents
//! A token derived from another ([`attenuate()`]) names it (`parent_id`), and
//! dies with it: revoking a token revokes its descendants, at any depth, in
//! the same transaction, with reason `parent revoked` (by id, by value, as a
//! leak); shortening a token's expiry caps its descendants' expiries. Both
//! walk the tree one generation at a time, each generation read after its
//! parents were written (so locked, on PostgreSQL): a derivation holds its
//! parent's row from before it reads it until it commits, so a concurrent
//! revocation either commits first (the derivation then sees the parent
//! revoked and refuses) or waits for the child to commit and then finds it.
//!
//! # Layout
//! This file: the shared pieces (checks, [`mint`]); `issue.rs`, `list.rs`,
//! `update.rs`, `revoke.rs`, `attenuate.rs`: one use case each;
//! `group_commit.rs`: the issue batches.

use super::{invalid, Caller, Kind, Page, PageRequest, Result, Uow};
use crate::clock::to_time;
use crate::domain::jwt::{self, Payload};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, AppRow, AuditRow, Holder, OrgRow, PrincipalRow, TokenQuery, TokenRow};
use group_commit::Outcome;
use sha2::{Digest, Sha256};
use sigil_proto::api::{IssueToken, IssuedToken, UpdateToken};
use sigil_proto::duration::{format_duration, is_duration_syntax, Expiry};
use sigil_proto::ipnet;
use sigil_proto::names::RefKind;
use sigil_proto::rules::{self, TokenStatus, MAX_TOKEN_LIFETIME_SECS};
use sigil_proto::{ClaimSet, ErrorCode, SecretString};
use uuid::Uuid;

pub mod attenuate;
mod group_commit;
mod issue;
mod list;
mod revoke;
mod update;

pub use attenuate::attenuate;
pub use issue::*;
pub use list::*;
pub use revoke::*;
pub use update::*;

/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_WINDOW: i64 = 24 * 3600;

fn rule(e: rules::RuleError) -> ApiError {
    ApiError::invalid(&e.field, e.message)
}

/// An owner or app reference, checked before it is looked up.
fn check_ref(field: &'static str, kind: RefKind, value: &str) -> Result<()> {
    sigil_proto::names::check_ref(field, kind, value).map_err(|e| invalid(field)(e.to_string()))
}

/// `expiry` xor `expires_at` to an absolute time; `None` when neither.
fn parse_expiry(expiry: Option<&str>, expires_at: Option<&str>) -> Result<Option<Expiry>> {
    for (field, v) in [("expiry", expiry), ("expires_at", expires_at)] {
        if let Some(v) = v {
            rules::check_expiry_text(field, v).map_err(rule)?;
        }
    }
    match (expiry, expires_at) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "expires_at",
            "give either expiry (a duration) or expires_at (a time), not both",
        )),
        (Some(d), None) => Expiry::parse("expiry", d).map(Some).map_err(|e| {
            if is_duration_syntax(d) {
                // Well-formed, but zero or beyond any lifetime: refused for what it means.
                ApiError::new(
                    ErrorCode::LifetimeExceeded,
                    format!(
                        "the expiry must be more than zero and at most {}",
                        format_duration(MAX_TOKEN_LIFETIME_SECS)
                    ),
                )
                .with_field("expiry")
            } else {
                invalid("expiry")(e.to_string())
            }
        }),
        // `expires_at` is a time, never a duration (that is `expiry`).
        (None, Some(t)) => match Expiry::parse("expires_at", t) {
            Ok(e @ Expiry::At(_)) => Ok(Some(e)),
            _ => Err(ApiError::invalid(
                "expires_at",
                format!(
                    "invalid expires_at {:?}: expected an RFC 3339 time such as 2030-01-31T12:00:00Z",
                    t.chars().take(64).collect::<String>()
                ),
            )),
        },
        (None, None) => Ok(None),
    }
}

/// Checks an Idempotency-Key header value: 1 to 255 visible ASCII characters.
pub fn check_idempotency_key(raw: &[u8]) -> Result<String> {
    std::str::from_utf8(raw)
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })
}

/// A token to sign and store: who it is for, what it allows, until when.
pub struct Mint<'a> {
    pub org: &'a OrgRow,
    pub owner: &'a PrincipalRow,
    pub app: Option<&'a AppRow>,
    pub label: Option<String>,
    pub claims: ClaimSet,
    pub expires_at: i64,
    /// (id, name) of the principal issuing it.
    pub created_by: (Uuid, &'a str),
    /// Networks it may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<ipnet::IpNet>,
    pub max_uses: Option<i64>,
    /// (id, depth) of the token it is derived from; none: issued directly.
    pub parent: Option<(Uuid, i64)>,
}

/// A token for `owner` with all of its permissions, issued by itself and
/// valid for `lifetime`: the owner's token of bootstrap and of recovery.
pub async fn mint_own(
    uow: &mut Uow<'_>,
    org: &OrgRow,
    owner: &PrincipalRow,
    label: &str,
    lifetime: i64,
) -> Result<(SecretString, TokenRow)> {
    let expires_at = uow.now + lifetime;
    mint(
        uow,
        Mint {
            org,
            owner,
            app: None,
            label: Some(label.into()),
            claims: owner.permissions.clone(),
            expires_at,
            created_by: (owner.id, &owner.name),
            allowed_cidrs: Vec::new(),
            max_uses: None,
            parent: None,
        },
    )
    .await
}

/// Signs a JWT and stores its row (never the JWT) in the unit of work; the
/// key's horizon moves in the same transaction, and in memory after commit.
pub async fn mint(uow: &mut Uow<'_>, m: Mint<'_>) -> Result<(SecretString, TokenRow)> {
    let (jwt, row) = sign(uow.state(), m, uow.now)?;
    store::insert_token(uow.c(), &row).await?;
    store::bump_key_exp(uow.c(), &row.kid, row.expires_at).await?;
    uow.issued(&row.kid, row.expires_at);
    uow.event(row.org_id, "token.issued", super::events::token(&row));
    Ok((jwt, row))
}

/// The row of a new token and its JWT, signed by the current key: all of a
/// mint that needs no database.
fn sign(state: &AppState, m: Mint<'_>, now: i64) -> Result<(SecretString, TokenRow)> {
    let key = state
        .signing_key()
        .ok_or_else(|| ApiError::internal("no signing key loaded"))?;
    let row = TokenRow {
        id: super::new_id(),
        org_id: m.org.id,
        org_name: m.org.name.clone(),
        owner_id: m.owner.id,
        owner_kind: m.owner.kind,
        owner_name: m.owner.name.clone(),
        app_id: m.app.map(|a| a.id),
        app_name: m.app.map(|a| a.name.clone()),
        label: m.label.filter(|l| !l.is_empty()),
        claims: m.claims,
        kid: key.kid.clone(),
        created_at: now,
        created_by: m.created_by.0,
        created_by_name: m.created_by.1.to_string(),
        expires_at: m.expires_at,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
        parent_id: m.parent.map(|p| p.0),
        depth: m.parent.map_or(0, |p| p.1 + 1),
        allowed_cidrs: m.allowed_cidrs,
        max_uses: m.max_uses,
        uses: 0,
    };
    let payload = Payload {
        iss: state.settings.issuer.clone(),
        sub: row.owner_id.to_string(),
        org: row.org_name.clone(),
        app: row.app_name.clone(),
        jti: row.id.to_string(),
        iat: now,
        nbf: now,
        exp: row.expires_at,
        claims: row.claims.to_strings(),
        kind: row.owner_kind.as_str().to_string(),
    };
    let jwt = jwt::sign(&key, &payload).map_err(ApiError::internal)?;
    Ok((jwt, row))
}
