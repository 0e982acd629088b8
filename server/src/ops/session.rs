//! The caller's own session: `whoami`, and gRPC `Verify` (a token checked
//! exactly as REST authenticates its callers, see [`crate::auth`]).

use super::{Caller, Result};
use crate::auth::{check, AuthError};
use crate::domain::jwt::Reject;
use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use sigil_proto::{Claim, ClaimSet};

/// `GET /v1/whoami`: the calling principal, its org, its effective claims.
pub fn whoami(caller: &Caller) -> &Principal {
    &caller.p
}

/// The verdict on a token.
pub enum Verdict {
    /// The token is valid; `allowed` says whether its effective rights cover
    /// the required claim (true when none was asked for).
    Valid {
        principal: Box<Principal>,
        allowed: bool,
    },
    Rejected(Reject),
}

/// gRPC `Verify`: the token checked completely as presented by the client
/// at `client_address` (the resource server's peer), and optionally a claim
/// its effective rights must cover. Only a valid answer takes a use (and
/// records last use): a refusal, `not_allowed` included, uses nothing. A bad
/// `required_claim` or `client_address` is a 400 naming it; a database
/// outage is an error (the verifier fails closed).
pub async fn verify(
    state: &AppState,
    token: &str,
    required_claim: Option<&str>,
    client_address: Option<&str>,
) -> Result<Verdict> {
    let required = match required_claim {
        None | Some("") => None,
        Some(c) => Some(
            Claim::parse(c)
                .map_err(|e| ApiError::invalid("required_claim", format!("required_claim: {e}")))?,
        ),
    };
    let from = match client_address.map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(a.parse::<std::net::IpAddr>().map_err(|_| {
            ApiError::invalid(
                "client_address",
                format!(
                    "client_address: {:?} is not an IPv4 or IPv6 address",
                    a.chars().take(64).collect::<String>()
                ),
            )
        })?),
    };
    let checked = match check(state, token, from).await {
        Ok(c) => c,
        Err(AuthError::Rejected(r)) => return Ok(Verdict::Rejected(r)),
        Err(AuthError::Server(e)) => return Err(e),
    };
    let allowed = required
        .map(|c| {
            checked
                .principal()
                .not_covered(&ClaimSet(vec![c]))
                .is_empty()
        })
        .unwrap_or(true);
    if !allowed {
        return Ok(Verdict::Valid {
            principal: Box::new(checked.without_use()),
            allowed,
        });
    }
    match checked.admit(state).await {
        Ok(p) => Ok(Verdict::Valid {
            principal: Box::new(p),
            allowed,
        }),
        Err(AuthError::Rejected(r)) => Ok(Verdict::Rejected(r)),
        Err(AuthError::Server(e)) => Err(e),
    }
}
