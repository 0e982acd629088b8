//! RFC 7009 revocation and RFC 7662 introspection, by token string: handlers
//! over [`crate::ops::by_value`].
//! Both accept `application/x-www-form-urlencoded` (as the RFCs say) or JSON.

use super::{bearer, client_ip, Auth};
use crate::error::{ApiError, ApiResult};
use crate::ops::by_value;
use crate::state::AppState;
use crate::wire;
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
            super::json_object(body)?
        } else {
            serde_urlencoded_token(body).ok_or_else(missing)?
        };
    let t = parsed.token.expose().trim().to_string();
    if t.contains('\0') {
        return Err(ApiError::invalid(
            "token",
            "token must not contain a NUL character",
        ));
    }
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
        .map_err(|_| super::too_large())?;
    let token = token_param(ct.as_deref(), &body)?;
    let ip = client_ip(&parts, &state);
    // The caller, when it authenticated, is the actor; otherwise the token's owner.
    let caller = match bearer(&parts) {
        Some(_) => Auth::from_request_parts(&mut parts, &state)
            .await
            .ok()
            .map(|a| a.0),
        None => None,
    };
    by_value::revoke(&state, &token, caller.as_ref(), ip).await?;
    Ok(StatusCode::OK)
}

/// RFC 7662. The caller must authenticate; a token of an org the caller cannot
/// reach, or any invalid token, answers only `{"active": false}`.
async fn introspect(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: axum::http::HeaderMap,
    super::AppBytes(body): super::AppBytes,
) -> ApiResult<Json<Introspection>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let token = token_param(ct, &body)?;
    let seen = by_value::introspect(&state, &caller, &token).await?;
    Ok(Json(wire::introspection(seen, &state.settings.issuer)))
}
