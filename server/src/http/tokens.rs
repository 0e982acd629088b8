//! Tokens: handlers over [`crate::ops::tokens`].

use super::{optional_json, page, page_params, AppBytes, AppJson, AppPath, AppQuery, Auth};
use crate::error::ApiResult;
use crate::ops::tokens::{self, ListFilter};
use crate::state::AppState;
use crate::wire;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::api::{
    IssueToken, IssuedToken, Page, RevokeToken, Token, TokenFilter, UpdateToken,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/tokens", get(list).post(issue))
        .route(
            "/v1/orgs/:org/tokens/:id",
            get(view).patch(update).delete(revoke),
        )
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
    AppQuery(f): AppQuery<TokenFilter>,
) -> ApiResult<Json<Page<Token>>> {
    let req = page_params(f.cursor.as_deref(), f.limit)?;
    let filter = ListFilter {
        owner: f.owner,
        app: f.app,
        scope: f.scope,
        include_revoked: f.include_revoked.unwrap_or(false),
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
