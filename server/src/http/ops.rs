//! Operations: health, readiness, metrics, OpenAPI, JWKS; and the small
//! caller-wide routes: whoami, key rotation, the revocation feed, the audit log.

use super::{audit, authorize, org_for, page_params, paginate, to_uuid, Auth};
use crate::clock::to_time;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sigil_proto::api::{self, AuditEntry, ListQuery, RevocationFeed, Whoami};
use std::fmt::Write;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/whoami", get(whoami))
        .route("/v1/keys/rotate", post(rotate))
        .route("/v1/revocations", get(revocations))
        .route("/v1/orgs/:org/audit", get(audit_log))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response(),
        Err(e) => ApiError::unavailable(e).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP sigil_http_requests_total HTTP requests by method and status."
    );
    let _ = writeln!(out, "# TYPE sigil_http_requests_total counter");
    if let Ok(req) = m.requests.lock() {
        let mut rows: Vec<_> = req.iter().collect();
        rows.sort();
        for ((method, status), n) in rows {
            let _ = writeln!(
                out,
                "sigil_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP sigil_auth_failures_total Refused bearer tokens by reason."
    );
    let _ = writeln!(out, "# TYPE sigil_auth_failures_total counter");
    if let Ok(f) = m.auth_failures.lock() {
        let mut rows: Vec<_> = f.iter().collect();
        rows.sort();
        for (reason, n) in rows {
            let _ = writeln!(out, "sigil_auth_failures_total{{reason=\"{reason}\"}} {n}");
        }
    }
    let issued = m.tokens_issued.load(std::sync::atomic::Ordering::Relaxed);
    let revoked = m.tokens_revoked.load(std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP sigil_tokens_issued_total Tokens issued by this replica."
    );
    let _ = writeln!(out, "# TYPE sigil_tokens_issued_total counter");
    let _ = writeln!(out, "sigil_tokens_issued_total {issued}");
    let _ = writeln!(
        out,
        "# HELP sigil_tokens_revoked_total Tokens revoked by this replica."
    );
    let _ = writeln!(out, "# TYPE sigil_tokens_revoked_total counter");
    let _ = writeln!(out, "sigil_tokens_revoked_total {revoked}");
    let c = &state.verify_cache;
    let _ = writeln!(
        out,
        "# HELP sigil_verify_cache_lookups_total Verification cache lookups by result.\n\
         # TYPE sigil_verify_cache_lookups_total counter\n\
         sigil_verify_cache_lookups_total{{result=\"hit\"}} {}\n\
         sigil_verify_cache_lookups_total{{result=\"miss\"}} {}\n\
         # HELP sigil_verify_cache_entries Tokens in the verification cache.\n\
         # TYPE sigil_verify_cache_entries gauge\n\
         sigil_verify_cache_entries {}",
        c.hits.load(std::sync::atomic::Ordering::Relaxed),
        c.misses.load(std::sync::atomic::Ordering::Relaxed),
        c.len()
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// The OpenAPI document (see `openapi.rs`); built once.
async fn openapi() -> Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(super::openapi::document).clone())
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let keys: Vec<serde_json::Value> = state.published_keys().iter().map(|k| k.jwk()).collect();
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(serde_json::json!({ "keys": keys })),
    )
}

async fn whoami(auth: Auth) -> Json<Whoami> {
    let p = auth.p;
    let claims = p.effective_claims().to_strings();
    Json(Whoami {
        id: to_uuid(&p.id),
        kind: p.kind,
        name: p.name,
        org: p.org_name,
        app: p.app_name,
        token_id: to_uuid(&p.token_id),
        claims,
        expires_at: to_time(p.expires_at),
    })
}

/// Adds a signing key. Older keys keep verifying until their tokens expire.
async fn rotate(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<(StatusCode, Json<api::SigningKey>)> {
    if !auth.p.in_root_org {
        return Err(ApiError::forbidden(
            "only principals of the root org may rotate signing keys",
        ));
    }
    authorize(&auth.p, "keys", "create", "*", None, None)?;
    let mut tx = state.store.pool.begin().await?;
    let kid = state
        .insert_new_key(&mut tx)
        .await
        .map_err(ApiError::internal)?;
    audit(
        &mut tx,
        &state,
        &auth,
        &auth.p.org_id,
        "key.rotate",
        ("key", Some(&kid)),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    state.reload_keys().await.map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(api::SigningKey {
            kid,
            created_at: to_time(state.now()),
        }),
    ))
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// Revocations after `since` (a cursor), oldest first: the caller's org, or
/// every org for root-org administrators.
async fn revocations(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<Since>,
) -> ApiResult<Json<RevocationFeed>> {
    // The feed spans the org: app-scoped tokens may not read it.
    authorize(&auth.p, "revocations", "list", "*", None, None)?;
    let since = q.since.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::invalid(
            "since",
            "since must be a cursor (an integer >= 0)",
        ));
    }
    let limit = i64::from(q.limit.unwrap_or(500).clamp(1, 1000));
    let all_orgs =
        auth.p.in_root_org && auth.p.app_id.is_none() && auth.p.allows("orgs", "get", "*", None);
    let mut conn = state.store.pool.acquire().await?;
    let rows = store::revocations_since(&mut conn, since, limit).await?;
    let cursor = rows.last().map(|r| r.seq).unwrap_or(since);
    let items = rows
        .into_iter()
        .filter(|r| all_orgs || r.org_name == auth.p.org_name)
        .map(|r| api::Revocation {
            token_id: to_uuid(&r.token_id),
            org: r.org_name,
            revoked_at: to_time(r.revoked_at),
            cursor: r.seq,
        })
        .collect();
    Ok(Json(RevocationFeed { items, cursor }))
}

async fn audit_log(
    State(state): State<AppState>,
    auth: Auth,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<api::Page<AuditEntry>>> {
    let mut conn = state.store.pool.acquire().await?;
    let org = org_for(&mut conn, &auth.p, &org).await?;
    authorize(&auth.p, "audit", "list", "*", None, None)?;
    let (after, limit) = page_params(q.cursor.as_deref(), q.limit)?;
    let rows = store::list_audit(&mut conn, &org.id, after.as_deref(), limit + 1).await?;
    Ok(Json(paginate(
        rows,
        limit,
        |r| r.id.clone(),
        |r| AuditEntry {
            id: to_uuid(&r.id),
            org: org.name.clone(),
            actor_id: r.actor_id.as_deref().map(to_uuid),
            actor: r.actor_name,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            details: r.details,
            client_ip: r.client_ip,
            created_at: to_time(r.created_at),
        },
    )))
}
