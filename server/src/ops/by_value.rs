//! Operations on a token given by value (the JWT itself): RFC 7009
//! revocation, where holding a token is enough to revoke it, and RFC 7662
//! introspection.

use super::{Actor, Caller, Result, Uow};
use crate::auth::{inspect, AuthError};
use crate::domain::jwt;
use crate::domain::principal::Principal;
use crate::state::AppState;
use crate::store;

/// RFC 7009. The answer is the same whether or not the token was valid, so
/// it tells an attacker nothing. `caller` is the authenticated caller, if
/// any: the audit names it; otherwise it names the token's owner (the holder).
pub async fn revoke(
    state: &AppState,
    token: &str,
    caller: Option<&Caller>,
    ip: Option<std::net::IpAddr>,
) -> Result<()> {
    let now = state.now();
    // Only a token we signed names a row worth touching.
    let Ok(kid) = jwt::peek_kid(token) else {
        return Ok(());
    };
    let Some(key) = state.key(&kid).await else {
        return Ok(());
    };
    let Ok(payload) = jwt::verify(token, &key, &state.settings.issuer, now) else {
        // Expired or forged: nothing to revoke.
        return Ok(());
    };
    let mut uow = match caller {
        Some(c) => Uow::write(state, c).await?,
        None => Uow::unauthenticated(state, Actor::system()).await?,
    };
    let (Ok(jti), Ok(sub)) = (
        uuid::Uuid::parse_str(&payload.jti),
        uuid::Uuid::parse_str(&payload.sub),
    ) else {
        return Ok(());
    };
    let Some(row) = store::get_token(uow.c(), None, jti).await? else {
        return Ok(());
    };
    if row.owner_id != sub {
        return Ok(());
    }
    let details = if caller.is_some() {
        serde_json::json!({"via": "rfc7009"})
    } else {
        uow.act_as(Actor {
            id: Some(row.owner_id),
            name: row.owner_name.clone(),
            ip,
        });
        serde_json::json!({"via": "rfc7009", "by": "holder"})
    };
    // Its descendants die with it (reason `parent revoked`).
    let done = super::tokens::revoke_tree(&mut uow, &row, Some("revoked by value")).await?;
    if done.root {
        let mut details = details;
        if !done.descendants.is_empty() {
            details["descendants"] = serde_json::json!(super::tokens::ids(&done.descendants));
        }
        uow.audit(row.org_id, "token.revoke", ("token", row.id), details);
    } else {
        super::tokens::audit_healed(&mut uow, row.org_id, row.id, &done.descendants);
    }
    uow.commit().await
}

/// RFC 7662: the principal behind `token`, if the caller may see it. A token
/// of an org the caller cannot reach, or any invalid token, is `None`
/// (`{"active": false}`), never an error. The token's state only
/// ([`crate::auth::inspect`]): the introspecting resource server is not the
/// token's client, so no address binding is checked and no use is taken; a
/// token with no use left is inactive.
pub async fn introspect(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<Option<Principal>> {
    let p = match inspect(state, token).await {
        Ok(p) => p,
        Err(AuthError::Rejected(_)) => return Ok(None),
        Err(AuthError::Server(e)) => return Err(e),
    };
    let me = &caller.p;
    let same_token = p.token_id == me.token_id;
    let same_org = p.org_id == me.org_id;
    let admin = me.in_root_org
        && me.app_id.is_none()
        && me.allows("orgs", "get", &p.org_id.to_string(), Some(&p.org_name));
    let may = same_token
        || admin
        || (same_org
            && me.allows("tokens", "get", &p.token_id.to_string(), None)
            && (me.app_id.is_none() || me.app_id == p.app_id));
    Ok(may.then_some(p))
}
