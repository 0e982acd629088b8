//! The revocation feed (`GET /v1/revocations`) and who may watch it (gRPC
//! `WatchRevocations`): the caller's own org, or every org for a root-org
//! administrator. App-scoped tokens may not read it: it spans the org.

use super::{authorize, is_org_admin, Caller, Result};
use crate::auth::{authenticate, AuthError};
use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, RevocationRow};

/// Whether `p` may see a revocation of `org_name`.
pub fn visible_to(p: &Principal, org_name: &str) -> bool {
    (is_org_admin(p, "get")) || org_name == p.org_name
}

/// A page of the feed after cursor `since`: the rows the caller may see,
/// and the cursor to continue from.
pub async fn feed(
    state: &AppState,
    caller: &Caller,
    since: i64,
    limit: i64,
) -> Result<(Vec<RevocationRow>, i64)> {
    authorize(&caller.p, "revocations", "list", "*", None, None)?;
    if since < 0 {
        return Err(ApiError::invalid(
            "since",
            "since must be a cursor (an integer >= 0)",
        ));
    }
    // Filtered in the query, before the limit: the page and its cursor say
    // nothing about other orgs' revocations.
    let org = (!is_org_admin(&caller.p, "get")).then_some(caller.p.org_name.as_str());
    page_of(state, since, limit, org).await
}

/// Every revocation after `since` (up to `limit`), in cursor order, and the
/// cursor of the last one read (the watch stream filters per row itself).
pub async fn page(state: &AppState, since: i64, limit: i64) -> Result<(Vec<RevocationRow>, i64)> {
    page_of(state, since, limit, None).await
}

/// [`page`] of one org's revocations (every org's when `org` is None).
async fn page_of(
    state: &AppState,
    since: i64,
    limit: i64,
    org: Option<&str>,
) -> Result<(Vec<RevocationRow>, i64)> {
    let mut conn = state.store.pool.acquire().await?;
    let rows = store::revocations_since(&mut conn, since, limit, org).await?;
    let cursor = rows.last().map(|r| r.seq).unwrap_or(since);
    Ok((rows, cursor))
}

/// Authenticates a watcher at `from` (takes a use, records last use) and
/// checks it may list revocations; run again on every wake-up (`recheck`:
/// every check but the use, which the stream took when it opened), so
/// revoking the watcher's token or shrinking its rights ends its stream.
pub async fn authorize_watch(
    state: &AppState,
    token: &str,
    from: Option<std::net::IpAddr>,
    recheck: bool,
) -> Result<Principal> {
    let checked = if recheck {
        crate::auth::check(state, token, from)
            .await
            .map(crate::auth::Checked::without_use)
    } else {
        authenticate(state, token, from).await
    };
    let p = match checked {
        Ok(p) => p,
        Err(AuthError::Rejected(r)) => return Err(ApiError::unauthenticated(r.message())),
        Err(AuthError::Server(e)) => return Err(e),
    };
    authorize(&p, "revocations", "list", "*", None, p.app_id)?;
    Ok(p)
}
