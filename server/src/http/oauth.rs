//! RFC 7009 revocation and RFC 7662 introspection, by token string.
//! Both accept `application/x-www-form-urlencoded` (as the RFCs say) or JSON.

use super::{audit, bearer, client_ip, Auth};
use crate::auth::{authenticate, AuthError};
use crate::domain::jwt;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, AuditRow};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use sigil_proto::api::{IntrospectRequest, Introspection};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/revoke", post(revoke))
        .route("/v1/introspect", post(introspect))
}

/// The `token` parameter of a form or JSON body.
fn token_param(content_type: Option<&str>, body: &[u8]) -> ApiResult<String> {
    let missing = || {
        ApiError::invalid(
            "token",
            "the `token` parameter is required (form or JSON body)",
        )
    };
    let parsed: IntrospectRequest =
        if content_type.is_some_and(|c| c.starts_with("application/json")) {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid("token", format!("invalid JSON body: {e}")))?
        } else {
            serde_urlencoded_token(body).ok_or_else(missing)?
        };
    let t = parsed.token.expose().trim().to_string();
    if t.is_empty() {
        return Err(missing());
    }
    Ok(t)
}

fn serde_urlencoded_token(body: &[u8]) -> Option<IntrospectRequest> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let token = pairs.into_iter().find(|(k, _)| k == "token")?.1;
    Some(IntrospectRequest {
        token: token.into(),
        token_type_hint: None,
    })
}

/// RFC 7009: holding a token is enough to revoke it. The answer is 200 whether
/// or not the token was valid, so it tells an attacker nothing.
async fn revoke(State(state): State<AppState>, req: Request) -> ApiResult<StatusCode> {
    let (mut parts, body) = req.into_parts();
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::invalid("token", "body too large"))?;
    let token = token_param(ct.as_deref(), &body)?;
    let now = state.now();
    // Only a token we signed names a row worth touching.
    let Ok(kid) = jwt::peek_kid(&token) else {
        return Ok(StatusCode::OK);
    };
    let Some(key) = state.key(&kid).await else {
        return Ok(StatusCode::OK);
    };
    let payload = match jwt::verify(&token, &key, &state.settings.issuer, now) {
        Ok(p) => p,
        // Expired or forged: nothing to revoke.
        Err(_) => return Ok(StatusCode::OK),
    };
    let ip = client_ip(&parts, &state);
    // The caller, when it authenticated, is the actor; otherwise the token's owner.
    let caller = match bearer(&parts) {
        Some(_) => Auth::from_request_parts(&mut parts, &state).await.ok(),
        None => None,
    };
    let mut tx = state.store.pool.begin().await?;
    let Some(row) = store::get_token(&mut tx, None, &payload.jti).await? else {
        return Ok(StatusCode::OK);
    };
    if row.owner_id != payload.sub {
        return Ok(StatusCode::OK);
    }
    let (actor_id, actor_name) = match &caller {
        Some(a) => (a.p.id.clone(), a.p.name.clone()),
        None => (row.owner_id.clone(), row.owner_name.clone()),
    };
    let changed = store::revoke_token(
        &mut tx,
        &row.id,
        &row.org_id,
        &actor_id,
        Some("revoked by value"),
        now,
    )
    .await?;
    if changed {
        match &caller {
            Some(a) => {
                audit(
                    &mut tx,
                    &state,
                    a,
                    &row.org_id,
                    "token.revoke",
                    ("token", Some(&row.id)),
                    serde_json::json!({"via": "rfc7009"}),
                )
                .await?
            }
            None => {
                store::insert_audit(
                    &mut tx,
                    &AuditRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        org_id: row.org_id.clone(),
                        actor_id: Some(actor_id),
                        actor_name,
                        action: "token.revoke".into(),
                        target_type: "token".into(),
                        target_id: Some(row.id.clone()),
                        details: serde_json::json!({"via": "rfc7009", "by": "holder"}),
                        client_ip: ip.map(|i| i.to_string()),
                        created_at: now,
                    },
                )
                .await?
            }
        }
    }
    tx.commit().await?;
    if changed {
        state.metrics.add_revoked(1);
        let _ = state.revocations.send(());
    }
    Ok(StatusCode::OK)
}

/// RFC 7662. The caller must authenticate; a token of an org the caller cannot
/// reach, or any invalid token, answers only `{"active": false}`.
async fn introspect(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Introspection>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let token = token_param(ct, &body)?;
    let inactive = Json(Introspection {
        active: false,
        ..Default::default()
    });
    let p = match authenticate(&state, &token, false).await {
        Ok(p) => p,
        Err(AuthError::Rejected(_)) => return Ok(inactive),
        Err(AuthError::Server(e)) => return Err(e),
    };
    let same_token = p.token_id == auth.p.token_id;
    let same_org = p.org_id == auth.p.org_id;
    let admin = auth.p.in_root_org
        && auth.p.app_id.is_none()
        && auth.p.allows("orgs", "get", &p.org_id, Some(&p.org_name));
    let may = same_token
        || admin
        || (same_org
            && auth.p.allows("tokens", "get", &p.token_id, None)
            && (auth.p.app_id.is_none() || auth.p.app_id == p.app_id));
    if !may {
        return Ok(inactive);
    }
    let claims = p.effective_claims().to_strings();
    Ok(Json(Introspection {
        active: true,
        scope: Some(claims.join(" ")),
        token_type: Some("Bearer".into()),
        username: Some(p.name.clone()),
        sub: Some(p.id.clone()),
        iss: Some(state.settings.issuer.clone()),
        jti: Some(p.token_id.clone()),
        exp: Some(p.expires_at),
        iat: Some(p.issued_at),
        nbf: Some(p.issued_at),
        org: Some(p.org_name.clone()),
        app: p.app_name.clone(),
        kind: Some(p.kind.clone()),
        claims: Some(claims),
    }))
}
