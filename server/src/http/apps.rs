//! Apps: named things inside an org that tokens can be scoped to.

use super::{audit, authorize, org_for, page_params, paginate, to_uuid, AppJson, Auth, Created};
use crate::clock::to_time;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, AppRow, OrgRow};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::api::{App, CreateApp, ListQuery, Page};
use sigil_proto::names::AppName;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/apps", get(list).post(create))
        .route("/v1/orgs/:org/apps/:app", get(view).delete(remove))
}

fn app_json(org: &OrgRow, a: AppRow) -> App {
    App {
        id: to_uuid(&a.id),
        org: org.name.clone(),
        name: a.name,
        created_at: to_time(a.created_at),
    }
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    AppJson(req): AppJson<CreateApp>,
) -> ApiResult<Created<App>> {
    let name = AppName::parse(&req.name).map_err(|e| ApiError::invalid("name", e.to_string()))?;
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    authorize(&auth.p, "apps", "create", "*", Some(name.as_str()), None)?;
    let row = AppRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.clone(),
        name: name.to_string(),
        created_at: state.now(),
    };
    store::insert_app(&mut tx, &row).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::conflict(
                "name",
                format!("an app named {:?} already exists in this org", row.name),
            )
        } else {
            e.into()
        }
    })?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "app.create",
        ("app", Some(&row.id)),
        serde_json::json!({"name": row.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(Created(app_json(&org, row)))
}

/// An app-scoped token sees only its own app.
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<App>>> {
    let (after, limit) = page_params(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    authorize(&auth.p, "apps", "list", "*", None, auth.p.app_id.as_deref())?;
    let rows = store::list_apps(
        &mut conn,
        &org.id,
        auth.p.app_id.as_deref(),
        after.as_deref(),
        limit + 1,
    )
    .await?;
    Ok(Json(paginate(
        rows,
        limit,
        |r| r.id.clone(),
        |r| app_json(&org, r),
    )))
}

async fn find(conn: &mut sqlx::AnyConnection, org: &OrgRow, app: &str) -> ApiResult<AppRow> {
    store::find_app(conn, &org.id, app)
        .await?
        .ok_or_else(|| ApiError::not_found("app", app))
}

async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, app)): Path<(String, String)>,
) -> ApiResult<Json<App>> {
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    let row = find(&mut conn, &org, &app).await?;
    if auth.p.app_id.as_ref().is_some_and(|a| *a != row.id) {
        return Err(ApiError::not_found("app", &app));
    }
    authorize(
        &auth.p,
        "apps",
        "get",
        &row.id,
        Some(&row.name),
        Some(&row.id),
    )?;
    Ok(Json(app_json(&org, row)))
}

/// Deletes the app and revokes the tokens scoped to it, in one transaction.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, app)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let row = find(&mut tx, &org, &app).await?;
    authorize(&auth.p, "apps", "delete", &row.id, Some(&row.name), None)?;
    let revoked = store::revoke_tokens_of(
        &mut tx,
        "app_id",
        &row.id,
        &org.id,
        &auth.p.id,
        "app deleted",
        state.now(),
    )
    .await?;
    store::delete_app(&mut tx, &row.id).await?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "app.delete",
        ("app", Some(&row.id)),
        serde_json::json!({"name": row.name, "revoked_tokens": revoked}),
    )
    .await?;
    tx.commit().await?;
    state.metrics.add_revoked(revoked.len() as u64);
    let _ = state.revocations.send(());
    Ok(StatusCode::NO_CONTENT)
}
