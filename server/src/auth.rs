//! Authentication: from a bearer JWT to a [`Principal`], for REST and gRPC alike.
//!
//! A token seen before on this replica is answered from memory while the
//! replica's lease is live ([`crate::lease`]): a SHA-256 and a map lookup, no
//! database access, no write (last use is queued, see [`crate::last_use`]).
//! The view it reads is emptied before any change is acknowledged, and a
//! change returns only once every replica acknowledged it or lost its lease,
//! so a revoked token is refused everywhere once revoke returned
//! (`docs/verification.md`).
//!
//! Otherwise the full check: cryptography first (EdDSA only, known kid,
//! signature, issuer, exp/nbf/iat with zero leeway), then one database read,
//! the truth every replica shares: the token row exists, is not revoked, its
//! (possibly shortened) expiry has not passed, its signing key still exists,
//! its owner still exists; the effective rights are the token's claims ∩ the
//! owner's permissions *now*. The result enters the view.

use crate::domain::jwt::{self, Payload, Reject};
use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use std::sync::Arc;

/// Why authentication failed: a verdict on the token, or the server's own trouble.
#[derive(Debug)]
pub enum AuthError {
    Rejected(Reject),
    Server(ApiError),
}

impl From<crate::store::StoreError> for AuthError {
    fn from(e: crate::store::StoreError) -> Self {
        AuthError::Server(e.into())
    }
}

/// Checks `token` completely. `touch` records last use.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    touch: bool,
) -> Result<Principal, AuthError> {
    let now = state.now();
    if let Some(p) = state.verify_cache.warm(token, now) {
        // Checked after the lookup, as close to the answer as can be.
        if state.lease.fresh() {
            if touch {
                state.last_use.queue(p.token_id, now);
            }
            return Ok(Principal::clone(&p));
        }
    }
    from_database(state, token, touch, now).await
}

/// The full check, reading the database; the principal enters the view.
async fn from_database(
    state: &AppState,
    token: &str,
    touch: bool,
    now: i64,
) -> Result<Principal, AuthError> {
    let kid = jwt::peek_kid(token).map_err(AuthError::Rejected)?;
    let key = state
        .key(&kid)
        .await
        .ok_or(AuthError::Rejected(Reject::UnknownKey))?;
    // The signature check is the costly step: a token verified before under
    // this (still present) key skips it. Times are re-checked on a hit.
    let payload: Arc<Payload> = match state.verify_cache.get(token, &kid, now) {
        Some(p) => p,
        None => {
            let p = jwt::verify(token, &key, &state.settings.issuer, now)
                .map_err(AuthError::Rejected)?;
            state.verify_cache.insert(token, &kid, &p);
            Arc::new(p)
        }
    };
    // Taken before the read: a change applied meanwhile keeps this answer
    // out of the view (see `verify_cache`).
    let epoch = state.verify_cache.epoch();

    // Ids in a token we signed are UUIDs; anything else names no row.
    let unknown = || AuthError::Rejected(Reject::UnknownToken);
    let (Ok(jti), Ok(sub)) = (
        uuid::Uuid::parse_str(&payload.jti),
        uuid::Uuid::parse_str(&payload.sub),
    ) else {
        return Err(unknown());
    };
    let mut conn = state
        .store
        .pool
        .acquire()
        .await
        .map_err(|e| AuthError::Server(e.into()))?;
    let row = store::auth_row(&mut conn, jti).await?.ok_or_else(unknown)?;
    // The row must be the one this JWT was minted for.
    if row.owner_id != sub || row.org_name != payload.org || row.kid != kid {
        return Err(unknown());
    }
    if !row.key_exists {
        return Err(AuthError::Rejected(Reject::UnknownKey));
    }
    if row.revoked {
        return Err(AuthError::Rejected(Reject::Revoked));
    }
    if now >= row.expires_at {
        return Err(AuthError::Rejected(Reject::Expired));
    }
    let (kind, name, permissions) = row.owner.ok_or(AuthError::Rejected(Reject::OwnerDeleted))?;
    if touch {
        match row.last_used_at {
            Some(t) if now - t < crate::last_use::EVERY => state.last_use.stored(row.id, t),
            _ => {
                store::touch_token(&mut conn, row.id, now).await?;
                state.last_use.stored(row.id, now);
            }
        }
    }
    drop(conn);
    let p = Principal {
        id: row.owner_id,
        kind,
        name,
        in_root_org: row.org_name == state.settings.root_org,
        org_id: row.org_id,
        org_name: row.org_name,
        app_id: row.app_id,
        app_name: row.app_name,
        token_id: row.id,
        expires_at: row.expires_at,
        issued_at: payload.iat,
        token_claims: row.claims,
        permissions,
    };
    state
        .verify_cache
        .resolve(token, epoch, Arc::new(p.clone()));
    Ok(p)
}
