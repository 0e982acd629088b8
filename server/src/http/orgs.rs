//! Orgs: the tenants.

use super::{
    audit, can_administer, org_for, page_params, paginate, to_uuid, AppJson, Auth, Created,
};
use crate::clock::to_time;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, OrgRow};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::api::{CreateOrg, ListQuery, Org, Page};
use sigil_proto::duration::parse_duration_for;
use sigil_proto::names::OrgName;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs", get(list).post(create))
        .route("/v1/orgs/:org", get(view))
}

pub fn org_json(o: OrgRow) -> Org {
    Org {
        id: to_uuid(&o.id),
        name: o.name,
        max_token_lifetime: o.max_token_lifetime,
        created_at: to_time(o.created_at),
    }
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<CreateOrg>,
) -> ApiResult<Created<Org>> {
    let name = OrgName::parse(&req.name).map_err(|e| ApiError::invalid("name", e.to_string()))?;
    let max = req
        .max_token_lifetime
        .as_deref()
        .map(|d| parse_duration_for("max_token_lifetime", d))
        .transpose()
        .map_err(|e| ApiError::invalid("max_token_lifetime", e.to_string()))?;
    if !auth.p.in_root_org || auth.p.app_id.is_some() {
        return Err(ApiError::forbidden(
            "only principals of the root org may create orgs",
        ));
    }
    super::authorize(&auth.p, "orgs", "create", "*", Some(name.as_str()), None)?;
    let row = OrgRow {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_string(),
        max_token_lifetime: max,
        created_at: state.now(),
    };
    let mut tx = state.store.pool.begin().await?;
    store::insert_org(&mut tx, &row).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::conflict(
                "name",
                format!("an org named {:?} already exists", row.name),
            )
        } else {
            e.into()
        }
    })?;
    audit(
        &mut tx,
        &state,
        &auth,
        &row.id,
        "org.create",
        ("org", Some(&row.id)),
        serde_json::json!({"name": row.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(Created(org_json(row)))
}

/// Root-org administrators see every org; everyone else sees their own.
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<Org>>> {
    let (after, limit) = page_params(q.cursor.as_deref(), q.limit)?;
    let mut conn = state.store.pool.acquire().await?;
    let all =
        auth.p.in_root_org && auth.p.app_id.is_none() && auth.p.allows("orgs", "list", "*", None);
    let only = (!all).then_some(auth.p.org_id.as_str());
    let rows = store::list_orgs(&mut conn, only, after.as_deref(), limit + 1).await?;
    let rows: Vec<OrgRow> = rows
        .into_iter()
        .filter(|o| o.id == auth.p.org_id || can_administer(&auth.p, o))
        .collect();
    Ok(Json(paginate(rows, limit, |o| o.id.clone(), org_json)))
}

async fn view(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
) -> ApiResult<Json<Org>> {
    let mut conn = state.store.pool.acquire().await?;
    let row = org_for(&mut conn, &auth.p, &org).await?;
    Ok(Json(org_json(row)))
}
