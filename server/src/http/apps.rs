//! Apps: handlers over [`crate::ops::apps`].

use super::{page, page_params, AppJson, AppPath, AppQuery, Auth, Created};
use crate::error::ApiResult;
use crate::ops::apps;
use crate::state::AppState;
use crate::wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::api::{App, CreateApp, ListQuery, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/apps", get(list).post(create))
        .route("/v1/orgs/:org/apps/:app", get(view).delete(delete))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppJson(req): AppJson<CreateApp>,
) -> ApiResult<Created<App>> {
    let (org, row) = apps::create(&state, &caller, &org, &req.name).await?;
    Ok(Created(wire::app(&org, row)))
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<Page<App>>> {
    let req = page_params(q.cursor.as_deref(), q.limit)?;
    let (org, rows) = apps::list(&state, &caller, &org, req).await?;
    Ok(Json(page(rows, |r| wire::app(&org, r))))
}

async fn view(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, app)): AppPath<(String, String)>,
) -> ApiResult<Json<App>> {
    let (org, row) = apps::view(&state, &caller, &org, &app).await?;
    Ok(Json(wire::app(&org, row)))
}

/// Deletes the app and revokes the tokens scoped to it, in one transaction.
async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, app)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    apps::delete(&state, &caller, &org, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}
