//! The caller's own session: `whoami`, and gRPC `Verify` (a token checked
//! exactly as REST authenticates its callers, see [`crate::auth`]).

use super::{Caller, Result};
use crate::auth::{authenticate, AuthError};
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

/// gRPC `Verify`: the token checked completely (records last use), and
/// optionally a claim its effective rights must cover. A bad
/// `required_claim` is a 400 naming it; a database outage is an error
/// (the verifier fails closed).
pub async fn verify(
    state: &AppState,
    token: &str,
    required_claim: Option<&str>,
) -> Result<Verdict> {
    let required = match required_claim {
        None | Some("") => None,
        Some(c) => Some(
            Claim::parse(c)
                .map_err(|e| ApiError::invalid("required_claim", format!("required_claim: {e}")))?,
        ),
    };
    match authenticate(state, token, true).await {
        Ok(p) => {
            let allowed = required
                .map(|c| p.not_covered(&ClaimSet(vec![c])).is_empty())
                .unwrap_or(true);
            Ok(Verdict::Valid {
                principal: Box::new(p),
                allowed,
            })
        }
        Err(AuthError::Rejected(r)) => Ok(Verdict::Rejected(r)),
        Err(AuthError::Server(e)) => Err(e),
    }
}
