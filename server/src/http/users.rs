//! Users: human principals, with an email. Their tokens are short-lived.

use super::{
    audit, authorize, check_no_escalation, org_for, page_params, paginate, to_uuid, AppJson, Auth,
    Created,
};
use crate::clock::to_time;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, OrgRow, PrincipalRow};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::api::{CreateUser, ListQuery, Page, UpdateUser, User};
use sigil_proto::names::check_email;
use sigil_proto::ClaimSet;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/users", get(list).post(create))
        .route(
            "/v1/orgs/:org/users/:user",
            get(view).patch(update).delete(remove),
        )
}

fn user_json(org: &OrgRow, p: PrincipalRow) -> User {
    User {
        id: to_uuid(&p.id),
        org: org.name.clone(),
        email: p.name,
        permissions: p.permissions.to_strings(),
        created_at: to_time(p.created_at),
        updated_at: to_time(p.updated_at),
    }
}

fn conflict(email: &str) -> impl Fn(sqlx::Error) -> ApiError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            ApiError::conflict(
                "email",
                format!("a user with email {email:?} already exists in this org"),
            )
        } else {
            e.into()
        }
    }
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    AppJson(req): AppJson<CreateUser>,
) -> ApiResult<Created<User>> {
    check_email(&req.email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
    let perms = ClaimSet::parse(&req.permissions)
        .map_err(|e| ApiError::invalid("permissions", e.to_string()))?;
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    authorize(&auth.p, "users", "create", "*", Some(&req.email), None)?;
    check_no_escalation(&auth.p, &perms, "permissions")?;
    let now = state.now();
    let row = PrincipalRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.clone(),
        kind: "user".into(),
        name: req.email.clone(),
        description: String::new(),
        permissions: perms,
        identities: Default::default(),
        created_at: now,
        updated_at: now,
    };
    store::insert_principal(&mut tx, &row)
        .await
        .map_err(conflict(&req.email))?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "user.create",
        ("user", Some(&row.id)),
        serde_json::json!({"email": row.name, "permissions": row.permissions.to_strings()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Created(user_json(&org, row)))
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<User>>> {
    let (after, limit) = page_params(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    authorize(&auth.p, "users", "list", "*", None, None)?;
    let rows =
        store::list_principals(&mut conn, &org.id, "user", after.as_deref(), limit + 1).await?;
    Ok(Json(paginate(
        rows,
        limit,
        |r| r.id.clone(),
        |r| user_json(&org, r),
    )))
}

async fn find(conn: &mut sqlx::AnyConnection, org: &OrgRow, user: &str) -> ApiResult<PrincipalRow> {
    store::find_principal(conn, &org.id, Some("user"), user)
        .await?
        .ok_or_else(|| ApiError::not_found("user", user))
}

async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Json<User>> {
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    let row = find(&mut conn, &org, &user).await?;
    authorize(&auth.p, "users", "get", &row.id, Some(&row.name), None)?;
    Ok(Json(user_json(&org, row)))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, user)): Path<(String, String)>,
    AppJson(req): AppJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let mut row = find(&mut tx, &org, &user).await?;
    authorize(&auth.p, "users", "update", &row.id, Some(&row.name), None)?;
    if let Some(email) = &req.email {
        check_email(email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
        row.name = email.clone();
    }
    if let Some(perms) = &req.permissions {
        let perms =
            ClaimSet::parse(perms).map_err(|e| ApiError::invalid("permissions", e.to_string()))?;
        check_no_escalation(&auth.p, &perms, "permissions")?;
        row.permissions = perms;
    }
    row.updated_at = state.now();
    let email = row.name.clone();
    store::update_principal(&mut tx, &row)
        .await
        .map_err(conflict(&email))?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "user.update",
        ("user", Some(&row.id)),
        serde_json::to_value(&req).unwrap_or_default(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(user_json(&org, row)))
}

/// Deletes the user and revokes all of its tokens in the same transaction.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let row = find(&mut tx, &org, &user).await?;
    authorize(&auth.p, "users", "delete", &row.id, Some(&row.name), None)?;
    let now = state.now();
    let revoked = store::revoke_tokens_of(
        &mut tx,
        "owner_id",
        &row.id,
        &org.id,
        &auth.p.id,
        "owner deleted",
        now,
    )
    .await?;
    store::delete_principal(&mut tx, &row.id).await?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "user.delete",
        ("user", Some(&row.id)),
        serde_json::json!({"email": row.name, "revoked_tokens": revoked.len()}),
    )
    .await?;
    tx.commit().await?;
    state.metrics.add_revoked(revoked.len() as u64);
    let _ = state.revocations.send(());
    Ok(StatusCode::NO_CONTENT)
}
