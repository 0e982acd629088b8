//! Bots: non-human users with permissions, identities and long-lived tokens.

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
use axum::routing::{get, put};
use axum::{Json, Router};
use sigil_proto::api::{Bot, CreateBot, ListQuery, Page, PutIdentity, UpdateBot};
use sigil_proto::names::{ServiceName, Username};
use sigil_proto::ClaimSet;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/:org/bots", get(list).post(create))
        .route(
            "/v1/orgs/:org/bots/:bot",
            get(view).patch(update).delete(remove),
        )
        .route(
            "/v1/orgs/:org/bots/:bot/identities/:service",
            put(put_identity).delete(delete_identity),
        )
}

async fn bot_json(
    c: &mut AnyConnection,
    state: &AppState,
    org: &OrgRow,
    p: PrincipalRow,
) -> ApiResult<Bot> {
    let token_count = store::count_live_tokens(c, &p.id, state.now()).await?;
    Ok(bot_view(org, p, token_count))
}

fn bot_view(org: &OrgRow, p: PrincipalRow, token_count: i64) -> Bot {
    Bot {
        id: to_uuid(&p.id),
        org: org.name.clone(),
        username: p.name,
        description: p.description,
        permissions: p.permissions.to_strings(),
        identities: p.identities,
        token_count,
        created_at: to_time(p.created_at),
        updated_at: to_time(p.updated_at),
    }
}

const MAX_DESCRIPTION: usize = 1024;
const MAX_IDENTITY: usize = 512;

fn check_description(d: &str) -> ApiResult<()> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::invalid(
            "description",
            format!("description is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(())
}

fn check_identities(ids: &BTreeMap<String, String>) -> ApiResult<()> {
    for (service, id) in ids {
        ServiceName::parse(service).map_err(|e| ApiError::invalid("identities", e.to_string()))?;
        check_identity(id)?;
    }
    Ok(())
}

fn check_identity(id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > MAX_IDENTITY || id.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "identity",
            format!("identity must be 1 to {MAX_IDENTITY} characters without control characters"),
        ));
    }
    Ok(())
}

fn conflict(username: &str) -> impl Fn(sqlx::Error) -> ApiError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            ApiError::conflict(
                "username",
                format!("a bot named {username:?} already exists in this org"),
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
    AppJson(req): AppJson<CreateBot>,
) -> ApiResult<Created<Bot>> {
    let username =
        Username::parse(&req.username).map_err(|e| ApiError::invalid("username", e.to_string()))?;
    let description = req.description.clone().unwrap_or_default();
    check_description(&description)?;
    let perms = ClaimSet::parse(&req.permissions)
        .map_err(|e| ApiError::invalid("permissions", e.to_string()))?;
    check_identities(&req.identities)?;
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    authorize(
        &auth.p,
        "bots",
        "create",
        "*",
        Some(username.as_str()),
        None,
    )?;
    check_no_escalation(&auth.p, &perms, "permissions")?;
    let now = state.now();
    let row = PrincipalRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.clone(),
        kind: "bot".into(),
        name: username.to_string(),
        description,
        permissions: perms,
        identities: req.identities.clone(),
        created_at: now,
        updated_at: now,
    };
    store::insert_principal(&mut tx, &row)
        .await
        .map_err(conflict(username.as_str()))?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "bot.create",
        ("bot", Some(&row.id)),
        serde_json::json!({"username": row.name, "permissions": row.permissions.to_strings()}),
    )
    .await?;
    let bot = bot_json(&mut tx, &state, &org, row).await?;
    tx.commit().await?;
    Ok(Created(bot))
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<Bot>>> {
    let (after, limit) = page_params(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    authorize(&auth.p, "bots", "list", "*", None, None)?;
    let rows =
        store::list_principals(&mut conn, &org.id, "bot", after.as_deref(), limit + 1).await?;
    // One grouped count for the page, not one query per bot.
    let counts = store::live_token_counts(&mut conn, &org.id, state.now()).await?;
    Ok(Json(paginate(
        rows,
        limit,
        |r| r.id.clone(),
        |r| {
            let n = counts.get(&r.id).copied().unwrap_or(0);
            bot_view(&org, r, n)
        },
    )))
}

async fn find(conn: &mut AnyConnection, org: &OrgRow, bot: &str) -> ApiResult<PrincipalRow> {
    store::find_principal(conn, &org.id, Some("bot"), bot)
        .await?
        .ok_or_else(|| ApiError::not_found("bot", bot))
}

async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, bot)): Path<(String, String)>,
) -> ApiResult<Json<Bot>> {
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    let row = find(&mut conn, &org, &bot).await?;
    authorize(&auth.p, "bots", "get", &row.id, Some(&row.name), None)?;
    Ok(Json(bot_json(&mut conn, &state, &org, row).await?))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, bot)): Path<(String, String)>,
    AppJson(req): AppJson<UpdateBot>,
) -> ApiResult<Json<Bot>> {
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let mut row = find(&mut tx, &org, &bot).await?;
    authorize(&auth.p, "bots", "update", &row.id, Some(&row.name), None)?;
    if let Some(u) = &req.username {
        row.name = Username::parse(u)
            .map_err(|e| ApiError::invalid("username", e.to_string()))?
            .to_string();
    }
    if let Some(d) = &req.description {
        check_description(d)?;
        row.description = d.clone();
    }
    if let Some(p) = &req.permissions {
        let perms =
            ClaimSet::parse(p).map_err(|e| ApiError::invalid("permissions", e.to_string()))?;
        // Shrinking is always allowed; granting needs the caller to hold it.
        check_no_escalation(&auth.p, &perms, "permissions")?;
        row.permissions = perms;
    }
    if let Some(ids) = &req.identities {
        check_identities(ids)?;
        row.identities = ids.clone();
    }
    row.updated_at = state.now();
    let name = row.name.clone();
    store::update_principal(&mut tx, &row)
        .await
        .map_err(conflict(&name))?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "bot.update",
        ("bot", Some(&row.id)),
        serde_json::to_value(&req).unwrap_or_default(),
    )
    .await?;
    let out = bot_json(&mut tx, &state, &org, row).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// Deletes the bot and revokes all of its tokens, in one transaction.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, bot)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let row = find(&mut tx, &org, &bot).await?;
    authorize(&auth.p, "bots", "delete", &row.id, Some(&row.name), None)?;
    let revoked = store::revoke_tokens_of(
        &mut tx,
        "owner_id",
        &row.id,
        &org.id,
        &auth.p.id,
        "bot deleted",
        state.now(),
    )
    .await?;
    store::delete_principal(&mut tx, &row.id).await?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        "bot.delete",
        ("bot", Some(&row.id)),
        serde_json::json!({"username": row.name, "revoked_tokens": revoked}),
    )
    .await?;
    tx.commit().await?;
    state.metrics.add_revoked(revoked.len() as u64);
    let _ = state.revocations.send(());
    Ok(StatusCode::NO_CONTENT)
}

async fn put_identity(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, bot, service)): Path<(String, String, String)>,
    AppJson(req): AppJson<PutIdentity>,
) -> ApiResult<Json<Bot>> {
    let service =
        ServiceName::parse(&service).map_err(|e| ApiError::invalid("service", e.to_string()))?;
    check_identity(&req.identity)?;
    change_identity(state, auth, org, bot, service, Some(req.identity)).await
}

async fn delete_identity(
    State(state): State<AppState>,
    auth: Auth,
    Path((org, bot, service)): Path<(String, String, String)>,
) -> ApiResult<Json<Bot>> {
    let service =
        ServiceName::parse(&service).map_err(|e| ApiError::invalid("service", e.to_string()))?;
    change_identity(state, auth, org, bot, service, None).await
}

async fn change_identity(
    state: AppState,
    auth: Auth,
    org: String,
    bot: String,
    service: ServiceName,
    identity: Option<String>,
) -> ApiResult<Json<Bot>> {
    let mut tx = state.store.pool.begin().await?;
    let org = org_for(&mut tx, &auth.p, &org).await?;
    let mut row = find(&mut tx, &org, &bot).await?;
    authorize(&auth.p, "bots", "update", &row.id, Some(&row.name), None)?;
    let action = match &identity {
        Some(id) => {
            row.identities.insert(service.to_string(), id.clone());
            "bot.identity.set"
        }
        None => {
            if row.identities.remove(service.as_str()).is_none() {
                return Err(ApiError::not_found("identity", service.as_str()));
            }
            "bot.identity.delete"
        }
    };
    row.updated_at = state.now();
    store::update_principal(&mut tx, &row).await?;
    audit(
        &mut tx,
        &state,
        &auth,
        &org.id,
        action,
        ("bot", Some(&row.id)),
        serde_json::json!({"service": service.as_str()}),
    )
    .await?;
    let out = bot_json(&mut tx, &state, &org, row).await?;
    tx.commit().await?;
    Ok(Json(out))
}
