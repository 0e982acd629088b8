//! Operations: health, readiness, metrics, OpenAPI, JWKS; and the small
//! caller-wide routes: whoami, key rotation, the revocation feed, the audit log.

use super::{page, page_params, AppPath, AppQuery, Auth};
use crate::clock::to_time;
use crate::error::ApiResult;
use crate::ops::{self, keys, session};
use crate::state::AppState;
use crate::wire;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sigil_proto::api::{self, AuditEntry, ListQuery, RevocationFeed, Whoami};
use std::fmt::Write;

/// `/metrics`: on the REST port, or alone on `--metrics-listen`.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/whoami", get(whoami))
        .route("/v1/keys/rotate", post(rotate))
        .route("/v1/revocations", get(revocations))
        .route("/v1/orgs/:org/audit", get(audit_log))
        .route("/v1/orgs/:org/audit/verify", get(audit_verify))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match ops::health::ready(&state).await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response(),
        Err(e) => e.into_response(),
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
    for (method, status, n) in m.requests() {
        let _ = writeln!(
            out,
            "sigil_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}"
        );
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
    let d = &state.deliveries;
    let _ = writeln!(
        out,
        "# HELP sigil_webhook_deliveries_total Webhook delivery attempts by this replica, by result.\n\
         # TYPE sigil_webhook_deliveries_total counter\n\
         sigil_webhook_deliveries_total{{result=\"delivered\"}} {}\n\
         sigil_webhook_deliveries_total{{result=\"failed\"}} {}\n\
         sigil_webhook_deliveries_total{{result=\"gave_up\"}} {}",
        d.delivered.load(std::sync::atomic::Ordering::Relaxed),
        d.failed.load(std::sync::atomic::Ordering::Relaxed),
        d.gave_up.load(std::sync::atomic::Ordering::Relaxed),
    );
    // From the database at scrape (one grouped query); left out when it
    // cannot be read, so the counters above are still served.
    match crate::ops::events::expiring_tokens(&state).await {
        Ok(rows) => {
            let _ = writeln!(
                out,
                "# HELP sigil_tokens_expiring Live tokens expiring within 7, 14 and 30 days, by org.\n\
                 # TYPE sigil_tokens_expiring gauge"
            );
            for (org, counts) in rows {
                let org = org.replace('\\', "\\\\").replace('"', "\\\"");
                for (within, n) in ["7d", "14d", "30d"].iter().zip(counts) {
                    let _ = writeln!(
                        out,
                        "sigil_tokens_expiring{{org=\"{org}\",within=\"{within}\"}} {n}"
                    );
                }
            }
        }
        Err(e) => tracing::warn!("metrics: expiring tokens not counted: {e}"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// The OpenAPI document (see `openapi.rs`); built once.
async fn openapi() -> Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(super::openapi::document).clone())
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let keys: Vec<serde_json::Value> = ops::health::published_keys(&state)
        .iter()
        .map(|k| k.jwk())
        .collect();
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(serde_json::json!({ "keys": keys })),
    )
}

async fn whoami(Auth(caller): Auth) -> Json<Whoami> {
    Json(wire::whoami(session::whoami(&caller)))
}

/// Adds a signing key. Older keys keep verifying until their tokens expire.
async fn rotate(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<(StatusCode, Json<api::SigningKey>)> {
    let (kid, created_at) = keys::rotate(&state, &caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::SigningKey {
            kid,
            created_at: to_time(created_at),
        }),
    ))
}

pub use super::MAX_FEED_LIMIT;

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
    Auth(caller): Auth,
    AppQuery(q): AppQuery<Since>,
) -> ApiResult<Json<RevocationFeed>> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=MAX_FEED_LIMIT).contains(&limit) {
        return Err(crate::error::ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_FEED_LIMIT}"),
        ));
    }
    let since = q.since.unwrap_or(0);
    if since < 0 {
        return Err(crate::error::ApiError::invalid(
            "since",
            "since must be a cursor of the feed (0 or more)",
        ));
    }
    let (rows, cursor) = ops::revocations::feed(&state, &caller, since, i64::from(limit)).await?;
    Ok(Json(RevocationFeed {
        items: rows.into_iter().map(wire::revocation).collect(),
        cursor,
    }))
}

async fn audit_log(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<api::Page<AuditEntry>>> {
    let req = page_params(q.cursor.as_deref(), q.limit)?;
    let (org, rows) = ops::audit::list(&state, &caller, &org, req).await?;
    Ok(Json(page(rows, |r| wire::audit_entry(&org, r))))
}

async fn audit_verify(
    State(state): State<AppState>,
    Auth(caller): Auth,
    AppPath(org): AppPath<String>,
    AppQuery(q): AppQuery<api::AuditVerifyQuery>,
) -> ApiResult<Json<api::AuditVerification>> {
    let (org, v) = ops::audit::verify(&state, &caller, &org, &q).await?;
    Ok(Json(wire::audit_verification(&org, v)))
}
