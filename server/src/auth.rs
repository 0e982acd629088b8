//! Authentication: from a bearer JWT to a [`Principal`], for REST and gRPC alike.
//!
//! Cryptographic checks first (EdDSA only, known kid, signature, issuer,
//! exp/nbf/iat with zero leeway), then the database, which is the truth that
//! every replica shares: the token row exists, is not revoked, its (possibly
//! shortened) expiry has not passed, its owner still exists; the effective
//! rights are the token's claims ∩ the owner's permissions *now*.

use crate::domain::jwt::{self, Payload, Reject};
use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

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
    let kid = jwt::peek_kid(token).map_err(AuthError::Rejected)?;
    let key = state
        .key(&kid)
        .await
        .ok_or(AuthError::Rejected(Reject::UnknownKey))?;
    // The signature check is the costly step: a token verified before under
    // this (still present) key skips it. Times are re-checked on a hit; the
    // database checks below always run (see `verify_cache` for the trade-off).
    let payload: std::sync::Arc<Payload> = match state.verify_cache.get(token, &kid, now) {
        Some(p) => p,
        None => {
            let p = jwt::verify(token, &key, &state.settings.issuer, now)
                .map_err(AuthError::Rejected)?;
            state.verify_cache.insert(token, &kid, &p);
            std::sync::Arc::new(p)
        }
    };

    let mut conn = state
        .store
        .pool
        .acquire()
        .await
        .map_err(|e| AuthError::Server(e.into()))?;
    // Ids in a token we signed are UUIDs; anything else names no row.
    let unknown = AuthError::Rejected(Reject::UnknownToken);
    let (Ok(jti), Ok(sub)) = (
        uuid::Uuid::parse_str(&payload.jti),
        uuid::Uuid::parse_str(&payload.sub),
    ) else {
        return Err(unknown);
    };
    let row = store::get_token(&mut conn, None, jti)
        .await?
        .ok_or(unknown)?;
    // The row must be the one this JWT was minted for.
    if row.owner_id != sub || row.org_name != payload.org || row.kid != kid {
        return Err(AuthError::Rejected(Reject::UnknownToken));
    }
    if row.revoked_at.is_some() {
        return Err(AuthError::Rejected(Reject::Revoked));
    }
    if now >= row.expires_at {
        return Err(AuthError::Rejected(Reject::Expired));
    }
    let owner = store::get_principal(&mut conn, row.owner_id)
        .await?
        .ok_or(AuthError::Rejected(Reject::OwnerDeleted))?;
    if touch {
        store::touch_token(&mut conn, row.id, now).await?;
    }
    Ok(Principal {
        id: owner.id,
        kind: owner.kind,
        name: owner.name,
        in_root_org: row.org_name == state.settings.root_org,
        org_id: row.org_id,
        org_name: row.org_name,
        app_id: row.app_id,
        app_name: row.app_name,
        token_id: row.id,
        expires_at: row.expires_at,
        issued_at: payload.iat,
        token_claims: row.claims,
        permissions: owner.permissions,
    })
}
