//! Authentication: from a bearer JWT to a [`Principal`], for REST and gRPC alike.
//!
//! A token seen before on this replica is answered from memory while the
//! replica's lease is live ([`crate::replica::lease`]): a SHA-256 and a map lookup, no
//! database access, no write (last use is queued, see [`crate::replica::last_use`]).
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
//!
//! Then, on either path, the per-request checks, which memory cannot answer
//! for all requests at once: the client's address against the token's
//! `allowed_cidrs` (the view holds the networks, so this costs nothing), and
//! last the use ([`Checked::admit`]). A token with `max_uses` takes its use
//! with one exact conditional UPDATE on every request — the one write on the
//! request path, only for limited tokens — so its count is exact across
//! replicas ([`crate::store::token_uses`]); a refused request uses nothing.
//! Any other token counts its uses in memory, written in batches with its
//! last use ([`crate::replica::last_use`]).
//!
//! Three entry points: [`authenticate`] (REST callers, watch streams),
//! [`check`] then [`Checked::admit`] (gRPC `Verify`, which takes a use only
//! for a valid answer), and [`inspect`] (RFC 7662 introspection: the token's
//! state, no address, no use).

use crate::domain::jwt::{self, Payload, Reject};
use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use std::net::IpAddr;
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

/// Checks `token` presented by a client at `from` (None: not known)
/// completely, and takes one use of it: [`check`], then [`Checked::admit`].
pub async fn authenticate(
    state: &AppState,
    token: &str,
    from: Option<IpAddr>,
) -> Result<Principal, AuthError> {
    check(state, token, from).await?.admit(state).await
}

/// A token that passed every check but the use: [`Checked::admit`] takes it.
#[must_use = "a checked token is authenticated only once admitted"]
pub struct Checked {
    p: Principal,
    now: i64,
    /// The stored last use, when the token was read from the database (None:
    /// answered from memory).
    read: Option<Option<i64>>,
}

impl Checked {
    /// The principal the token authenticates as.
    pub fn principal(&self) -> &Principal {
        &self.p
    }

    /// The principal, without taking a use: for an answer that does not
    /// admit the token (gRPC `Verify` with `not_allowed`), or a re-check of a
    /// session already admitted (a watch stream on its wake-ups).
    pub fn without_use(self) -> Principal {
        self.p
    }

    /// Takes one use — the last step, so a refused request uses nothing. A
    /// token with `max_uses`: one exact conditional UPDATE, even when the rest
    /// came from memory (`exhausted` when none is left); any other token: its
    /// use is counted and its last use recorded in memory, written in batches
    /// ([`crate::replica::last_use`]), or at once on its first use on this replica.
    pub async fn admit(self, state: &AppState) -> Result<Principal, AuthError> {
        let Checked { mut p, now, read } = self;
        let id = p.token_id;
        if p.max_uses.is_some() {
            let mut conn = connection(state).await?;
            match store::token_uses::take_use(&mut conn, id, now).await? {
                Some(n) => {
                    p.uses = Some(n);
                    state.last_use.stored(id, now);
                }
                None if store::token_uses::refusal_is_revoked(&mut conn, id).await? => {
                    return Err(AuthError::Rejected(Reject::Revoked));
                }
                None => return Err(AuthError::Rejected(Reject::Exhausted)),
            }
            return Ok(p);
        }
        match read {
            None => state.last_use.queue(id, now),
            Some(Some(t)) if now - t < crate::replica::last_use::EVERY => {
                state.last_use.stored(id, t);
                state.last_use.queue(id, now);
            }
            Some(_) => {
                let mut conn = connection(state).await?;
                store::token_uses::touch_and_count(&mut conn, id, now, 1).await?;
                state.last_use.stored(id, now);
            }
        }
        Ok(p)
    }
}

/// Every check of `token` presented by a client at `from` but the use: the
/// token's state, then its address binding (a bound token from an unknown
/// address is refused).
pub async fn check(
    state: &AppState,
    token: &str,
    from: Option<IpAddr>,
) -> Result<Checked, AuthError> {
    let now = state.now();
    let (p, read) = resolve(state, token, now).await?;
    if !p.address_allowed(from) {
        return Err(AuthError::Rejected(Reject::AddressNotAllowed(
            from.map(|a| a.to_canonical()),
        )));
    }
    Ok(Checked { p, now, read })
}

/// The token's state, as a resource server introspecting it sees it: no
/// address is checked and no use taken or recorded (the introspecting
/// server is not the client). A token with `max_uses` is read for its uses
/// (one read) and refused `exhausted` when none is left.
pub async fn inspect(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    let now = state.now();
    let (mut p, _) = resolve(state, token, now).await?;
    if let Some(max) = p.max_uses {
        let mut conn = connection(state).await?;
        let uses = store::token_uses::uses_of(&mut conn, p.token_id).await?;
        if uses >= max {
            return Err(AuthError::Rejected(Reject::Exhausted));
        }
        p.uses = Some(uses);
    }
    Ok(p)
}

/// The principal `token` resolves to: from memory under a live lease, else
/// from the database (answering the stored last use too).
async fn resolve(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<(Principal, Option<Option<i64>>), AuthError> {
    if let Some(p) = state.verify_cache.warm(token, now) {
        // Checked after the lookup, as close to the answer as can be.
        if state.lease.fresh() {
            return Ok((Principal::clone(&p), None));
        }
    }
    let (p, last_used) = from_database(state, token, now).await?;
    Ok((p, Some(last_used)))
}

/// The full check, reading the database; the principal enters the view.
async fn from_database(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<(Principal, Option<i64>), AuthError> {
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
    let mut conn = connection(state).await?;
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
    let last_used = row.last_used_at;
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
        parent_id: row.parent_id,
        allowed_cidrs: row.allowed_cidrs,
        max_uses: row.max_uses,
        uses: None,
    };
    state
        .verify_cache
        .resolve(token, epoch, Arc::new(p.clone()));
    Ok((p, last_used))
}

/// A database connection for authentication; a pool that cannot give one is
/// the server's trouble, not the token's.
async fn connection(state: &AppState) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, AuthError> {
    state
        .store
        .pool
        .acquire()
        .await
        .map_err(|e| AuthError::Server(e.into()))
}
