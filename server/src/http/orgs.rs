//! Orgs: handlers over [`crate::ops::orgs`].

use super::{page, page_params, AppJson, AppPath, AppQuery, Auth, Created};
use crate::error::ApiResult;
use crate::ops::orgs;
use crate::state::AppState;
use crate::wire;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::api::{CreateOrg, ListQuery, Org, Page, UpdateOrg};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs", get(list).post(create))
        .route("/v1/orgs/:org", get(view).patch(update))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppJson(req): AppJson<CreateOrg>,
) -> ApiResult<Created<Org>> {
    Ok(Created(wire::org(
        orgs::create(&state, &caller, req).await?,
    )))
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<Page<Org>>> {
    let req = page_params(q.cursor.as_deref(), q.limit)?;
    Ok(Json(page(
        orgs::list(&state, &caller, req).await?,
        wire::org,
    )))
}

async fn view(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
) -> ApiResult<Json<Org>> {
    Ok(Json(wire::org(orgs::view(&state, &caller, &org).await?)))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppJson(req): AppJson<UpdateOrg>,
) -> ApiResult<Json<Org>> {
    Ok(Json(wire::org(
        orgs::update(&state, &caller, &org, req).await?,
    )))
}
