//! Webhooks: handlers over [`crate::ops::webhooks`].

use super::{page, page_params, AppJson, AppPath, AppQuery, Auth, Created};
use crate::error::ApiResult;
use crate::ops::webhooks;
use crate::state::AppState;
use crate::wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sigil_proto::api::{
    CreateWebhook, CreatedWebhook, Delivery, ListQuery, Page, UpdateWebhook, Webhook,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/webhooks", get(list).post(create))
        .route(
            "/v1/orgs/:org/webhooks/:webhook",
            get(view).patch(update).delete(delete),
        )
        .route(
            "/v1/orgs/:org/webhooks/:webhook/deliveries",
            get(deliveries),
        )
        .route("/v1/orgs/:org/webhooks/:webhook/test", post(test))
}

/// The secret is in this answer only.
async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppJson(req): AppJson<CreateWebhook>,
) -> ApiResult<Created<CreatedWebhook>> {
    let (org, row, secret) = webhooks::create(&state, &caller, &org, req).await?;
    Ok(Created(CreatedWebhook {
        secret,
        webhook: wire::webhook(&org, row),
    }))
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<Page<Webhook>>> {
    let req = page_params(q.cursor.as_deref(), q.limit)?;
    let (org, rows) = webhooks::list(&state, &caller, &org, req).await?;
    Ok(Json(page(rows, |r| wire::webhook(&org, r))))
}

async fn view(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
) -> ApiResult<Json<Webhook>> {
    let (org, row) = webhooks::view(&state, &caller, &org, &id).await?;
    Ok(Json(wire::webhook(&org, row)))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
    AppJson(req): AppJson<UpdateWebhook>,
) -> ApiResult<Json<Webhook>> {
    let (org, row) = webhooks::update(&state, &caller, &org, &id, req).await?;
    Ok(Json(wire::webhook(&org, row)))
}

async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state, &caller, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Attempts, newest first.
async fn deliveries(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    let req = page_params(q.cursor.as_deref(), q.limit)?;
    let rows = webhooks::deliveries(&state, &caller, &org, &id, req).await?;
    Ok(Json(page(rows, wire::delivery)))
}

/// A `webhook.test` event delivered now; answers its first attempt.
async fn test(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath((org, id)): AppPath<(String, String)>,
) -> ApiResult<Json<Delivery>> {
    let row = webhooks::test(&state, &caller, &org, &id).await?;
    Ok(Json(wire::delivery(row)))
}
