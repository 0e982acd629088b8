//! `POST /v1/tokens/attenuate`: a holder derives a narrower token from the
//! token it calls with (SPEC §6 "Derived tokens").
//!
//! No permission is needed — narrowing never grants — so the only checks are
//! that the child is at most its parent, each refused as `escalation` (403)
//! naming the field:
//! - `claims` ⊆ the parent's *effective* claims (its claims ∩ its owner's
//!   permissions now); absent: exactly those effective claims.
//! - `expiry`/`expires_at` ≤ the parent's expiry; absent: the parent's,
//!   shortened to the org's and the owner kind's lifetime caps (which apply
//!   to a child as to any token: past them, `lifetime_exceeded`).
//! - same owner (always: the child is minted for the parent's owner), same
//!   app when the parent is app-scoped; an org-scoped parent may narrow its
//!   child to one app.
//! - `allowed_cidrs`: absent, the parent's; given, each network inside one
//!   of the parent's ([`rules::cidrs_within`]).
//! - `max_uses`: the parent's *remaining* uses (its `max_uses` − `uses`,
//!   this very call's use already counted) bound the child's; absent, the
//!   child gets exactly those remaining uses. Uses are counted per token: a
//!   child's uses do not consume its parent's. So a family of tokens can
//!   together authenticate more often than the root's `max_uses` (each
//!   derivation costs the parent one use, so the total stays bounded, but
//!   not by `max_uses`); carving the child's allowance out of the parent's
//!   would make the bound exact at the price of a `uses` that no longer
//!   counts authentications — not taken. A parent with no use left derives
//!   nothing (`escalation` on `max_uses`).
//! - depth: a token issued directly is at depth 0; a parent at depth
//!   [`rules::MAX_DERIVATION_DEPTH`] (8) derives nothing. That is no grant of
//!   rights, so it is answered `unprocessable` (422), not `escalation`.
//!
//! Malformed input is a 400 as for an issue. The child's creator is the
//! parent's owner (the caller), its audit entry is `token.attenuate` with
//! `parent_id` in the details, in the child's org.
//!
//! The parent's row is held (`SELECT … FOR SHARE` on PostgreSQL) from before
//! it is read until the child commits, so a concurrent revocation or expiry
//! change of the parent either comes first — and the derivation, reading
//! after it, refuses (401) or narrows to it — or waits and then cascades to
//! the child (see [`super::revoke_tree`]).

use super::{bindings, check_lifetime, check_ref, issue_details, mint, parse_expiry, rule, Mint};
use crate::error::ApiError;
use crate::ops::{claims_refused, Caller, Kind, Result, Uow};
use crate::state::AppState;
use crate::store::{self, OrgRow};
use sigil_proto::api::{AttenuateToken, IssuedToken};
use sigil_proto::names::RefKind;
use sigil_proto::rules::{self, MAX_DERIVATION_DEPTH, MAX_TOKEN_LIFETIME_SECS};
use sigil_proto::{ClaimSet, ErrorCode};

fn escalation(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Escalation, message).with_field(field)
}

/// The longest lifetime a new token of `kind` may have in `org`.
fn max_lifetime(state: &AppState, org: &OrgRow, kind: Kind) -> i64 {
    let mut l = MAX_TOKEN_LIFETIME_SECS;
    if kind == Kind::User {
        l = l.min(state.settings.max_user_token_lifetime);
    }
    if let Some(max) = org.max_token_lifetime {
        l = l.min(max);
    }
    l
}

/// Derives a child of the caller's own token; see the module documentation.
pub async fn attenuate(
    state: &AppState,
    caller: &Caller,
    req: AttenuateToken,
) -> Result<IssuedToken> {
    if let Some(a) = &req.app {
        check_ref("app", RefKind::App, a)?;
    }
    if let Some(l) = &req.label {
        rules::check_label(l).map_err(rule)?;
    }
    let expiry = parse_expiry(req.expiry.as_deref(), req.expires_at.as_deref())?;
    let (cidrs, max_uses) = bindings(req.allowed_cidrs.as_deref(), req.max_uses)?;
    let requested = req
        .claims
        .as_ref()
        .map(|c| ClaimSet::parse(c).map_err(|e| claims_refused("claims", c, e)))
        .transpose()?;

    let mut uow = Uow::write(state, caller).await?;
    let now = uow.now;
    let parent_id = caller.p.token_id;
    store::lock_token(uow.c(), parent_id).await?;
    let parent = store::get_token(uow.c(), None, parent_id)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("unknown token"))?;
    // Authentication checked these; they are read again under the lock.
    if parent.revoked_at.is_some() {
        return Err(ApiError::unauthenticated("the token is revoked"));
    }
    if parent.expires_at <= now {
        return Err(ApiError::unauthenticated("the token has expired"));
    }
    if parent.depth >= MAX_DERIVATION_DEPTH {
        return Err(ApiError::new(
            ErrorCode::Unprocessable,
            format!(
                "tokens derive at most {MAX_DERIVATION_DEPTH} levels deep, and this token is \
                 already {} levels below a token issued directly: derive from one nearer the root",
                parent.depth
            ),
        ));
    }
    let org = uow.org(&parent.org_id.to_string()).await?;
    let owner = store::find_principal(uow.c(), org.id, None, &parent.owner_id.to_string())
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the token's owner was deleted"))?;

    // Claims: within the parent's claims and its owner's permissions now.
    let claims = match requested {
        Some(wanted) => {
            let beyond_token = wanted.not_covered_by(&parent.claims);
            let beyond_owner = wanted.not_covered_by(&owner.permissions);
            let beyond: Vec<String> = wanted
                .iter()
                .filter(|c| beyond_token.contains(c) || beyond_owner.contains(c))
                .map(|c| c.to_string())
                .collect();
            if !beyond.is_empty() {
                return Err(escalation(
                    "claims",
                    format!(
                        "claims beyond the effective claims of the parent token: {}",
                        beyond.join(", ")
                    ),
                ));
            }
            wanted
        }
        None => parent.claims.intersect(&owner.permissions),
    };

    // App: an app-scoped parent keeps its app; an org-scoped one may narrow.
    let app = match (parent.app_id, req.app.as_deref()) {
        (Some(own), wanted) => {
            let row = store::find_app(uow.c(), org.id, &own.to_string()).await?;
            if let Some(w) = wanted {
                let same = row
                    .as_ref()
                    .is_some_and(|r| r.id.to_string() == w || r.name == w);
                if !same {
                    return Err(escalation(
                        "app",
                        format!(
                            "the parent token is scoped to app {:?}: its children are too",
                            parent.app_name.as_deref().unwrap_or_default()
                        ),
                    ));
                }
            }
            Some(row.ok_or_else(|| ApiError::unauthenticated("the token's app was deleted"))?)
        }
        (None, Some(w)) => Some(
            store::find_app(uow.c(), org.id, w)
                .await?
                .ok_or_else(|| ApiError::not_found("app", w).with_field("app"))?,
        ),
        (None, None) => None,
    };

    // Expiry: never past the parent's; absent, the parent's within the caps.
    let expires_at = match expiry {
        Some(e) => {
            let exp = e.resolve(now);
            if exp > parent.expires_at {
                return Err(escalation(
                    if req.expiry.is_some() {
                        "expiry"
                    } else {
                        "expires_at"
                    },
                    format!(
                        "a derived token expires at the latest with its parent, at {}",
                        crate::clock::to_time(parent.expires_at)
                    ),
                ));
            }
            exp
        }
        None => parent
            .expires_at
            .min(now.saturating_add(max_lifetime(state, &org, owner.kind))),
    };
    check_lifetime(state, &org, owner.kind, now, expires_at)?;

    // Bindings: at least as narrow as the parent's.
    let allowed_cidrs = match req.allowed_cidrs {
        None => parent.allowed_cidrs.clone(),
        Some(_) => {
            if !rules::cidrs_within(&cidrs, &parent.allowed_cidrs) {
                let parent_nets: Vec<String> =
                    parent.allowed_cidrs.iter().map(|n| n.to_string()).collect();
                return Err(escalation(
                    "allowed_cidrs",
                    format!(
                        "allowed_cidrs must lie within the parent token's networks: {}",
                        parent_nets.join(", ")
                    ),
                ));
            }
            cidrs
        }
    };
    let remaining = parent.max_uses.map(|m| (m - parent.uses).max(0));
    let max_uses = match (remaining, max_uses) {
        (Some(0), _) => {
            return Err(escalation(
                "max_uses",
                "the parent token has no uses left to give",
            ))
        }
        (Some(r), Some(n)) if n > r => {
            return Err(escalation(
                "max_uses",
                format!("max_uses must be at most {r}, the parent token's remaining uses"),
            ))
        }
        (Some(r), None) => Some(r),
        (_, given) => given,
    };

    let (jwt, row) = mint(
        &mut uow,
        Mint {
            org: &org,
            owner: &owner,
            app: app.as_ref(),
            label: req.label,
            claims,
            expires_at,
            created_by: (caller.p.id, &caller.p.name),
            allowed_cidrs,
            max_uses,
            parent: Some((parent.id, parent.depth)),
        },
    )
    .await?;
    uow.audit(
        org.id,
        "token.attenuate",
        ("token", row.id),
        issue_details(&row, &owner.name),
    );
    uow.commit().await?;
    Ok(IssuedToken {
        token: jwt,
        metadata: crate::wire::token(row, now),
    })
}
