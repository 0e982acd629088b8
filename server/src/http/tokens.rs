//! Tokens: handlers over [`crate::ops::tokens`], and derivation
//! (`POST /v1/tokens/attenuate`, authenticated by the parent token).

use super::{optional_json, page, page_params, AppBytes, AppJson, AppPath, AppQuery, Auth};
use crate::error::ApiResult;
use crate::ops::tokens::{self, ListFilter};
use crate::state::AppState;
use crate::wire;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use sigil_proto::api::{
    AttenuateToken, IssueToken, IssuedToken, Page, RevokeToken, Token, TokenFilter, UpdateToken,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/tokens", get(list).post(issue))
        .route(
            "/v1/orgs/:org/tokens/:id",
            get(view).patch(update).delete(revoke),
        )
        .route("/v1/tokens/attenuate", post(attenuate))
}

/// Derives a narrower token from the calling token; see
/// [`crate::ops::tokens::attenuate`].
async fn attenuate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppJson(req): AppJson<AttenuateToken>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let issued = tokens::attenuate(&state, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// `status` may be repeated (`status=revoked&status=expired`) as well as
/// comma-separated: its values are taken out before the rest of the query
/// is parsed (where a repeated parameter is refused).
fn split_status(query: &str) -> ApiResult<(Vec<String>, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
        crate::error::ApiError::invalid("query", format!("invalid query string: {e}"))
    })?;
    let (status, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == "status");
    let rest = serde_urlencoded::to_string(&rest).map_err(crate::error::ApiError::internal)?;
    Ok((status.into_iter().map(|(_, v)| v).collect(), rest))
}

async fn issue(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    headers: HeaderMap,
    AppJson(req): AppJson<IssueToken>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let key = headers
        .get("idempotency-key")
        .map(|v| tokens::check_idempotency_key(v.as_bytes()))
        .transpose()?;
    let issued = tokens::issue(&state, &caller, &org, req, key).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<Token>>> {
    let (status, rest) = split_status(query.as_deref().unwrap_or(""))?;
    let f: TokenFilter = super::parse_query(&rest)?;
    let req = page_params(f.cursor.as_deref(), f.limit)?;
    let filter = ListFilter {
        owner: f.owner,
        app: f.app,
        scope: f.scope,
        include_revoked: f.include_revoked.unwrap_or(false),
        status,
        expiring_within: f.expiring_within,
        parent: f.parent,
    };
    let rows = tokens::list(&state, &caller, &org, filter, req).await?;
    let now = state.now();
    Ok(Json(page(rows, |r| wire::token(r, now))))
}

async fn view(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
) -> ApiResult<Json<Token>> {
    let row = tokens::view(&state, &caller, &org, &id).await?;
    Ok(Json(wire::token(row, state.now())))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<UpdateToken>,
) -> ApiResult<Json<Token>> {
    let row = tokens::update(&state, &caller, &org, &id, req).await?;
    Ok(Json(wire::token(row, state.now())))
}

/// Revokes by id; the reason comes from the body or the query.
async fn revoke(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<RevokeToken>,
    AppBytes(body): AppBytes,
) -> ApiResult<Json<Token>> {
    if let Some(r) = &q.reason {
        sigil_proto::rules::check_reason(r)
            .map_err(|e| crate::error::ApiError::invalid(&e.field, e.message))?;
    }
    let from_body: RevokeToken = optional_json(&body).await?;
    let reason = from_body.reason.or(q.reason);
    let row = tokens::revoke(&state, &caller, &org, &id, reason).await?;
    Ok(Json(wire::token(row, state.now())))
}
