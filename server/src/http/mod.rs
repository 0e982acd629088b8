//! The REST API: one router per resource, merged here, and the pieces every
//! handler shares — the authenticated caller ([`Auth`]), JSON bodies that fail
//! in the API's own error shape ([`AppJson`]), the one authorization check
//! ([`authorize`]), org resolution ([`org_for`]), pagination, and the audit log.

mod apps;
mod bots;
mod oauth;
mod openapi;
mod ops;
mod orgs;
mod tokens;
mod users;

pub use tokens::IDEMPOTENCY_WINDOW;

use crate::auth::{authenticate, AuthError};
use crate::domain::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, AuditRow, OrgRow};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use sigil_proto::ErrorCode;
use sqlx::AnyConnection;
use std::net::{IpAddr, SocketAddr};

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(orgs::router())
        .merge(users::router())
        .merge(bots::router())
        .merge(apps::router())
        .merge(tokens::router())
        .merge(oauth::router())
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "method not allowed on this route",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        // One line per request at info: method, path and query, status, latency.
        // Headers (the bearer token) are never recorded.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new()
                        .level(tracing::Level::INFO)
                        .include_headers(false),
                )
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .include_headers(false),
                ),
        )
        .with_state(state)
}

async fn count_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    state
        .metrics
        .inc_request(method.as_str(), resp.status().as_u16());
    resp
}

// ---------- extractors ----------

/// The client's address: the TCP peer, or — behind a trusted proxy — the last
/// `X-Forwarded-For` entry, which that proxy appended (earlier entries are the
/// client's own word and are ignored).
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    if state.settings.trust_forwarded_for {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|ip| ip.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// An authenticated caller. Failed authentications count against the client's
/// address; past the limit its failures are answered 429.
pub struct Auth {
    pub p: Principal,
    pub ip: Option<IpAddr>,
}

#[axum::async_trait]
impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, state);
        let now = state.now();
        // Over the limit, a client still gets in with a valid token (its
        // address may be a proxy shared with the attacker); only further
        // failures are answered 429 instead of 401.
        let limited = state
            .limiter
            .is_limited(ip, now, state.settings.auth_failures_per_minute);
        let refuse = |message: &str| {
            if limited {
                ApiError::new(
                    ErrorCode::RateLimited,
                    "too many failed authentications from this address; retry in a minute",
                )
            } else {
                ApiError::unauthenticated(message)
            }
        };
        let Some(token) = bearer(parts) else {
            state.limiter.record_failure(ip, now);
            state.metrics.inc_auth_failure("missing");
            return Err(refuse(
                "missing bearer token: send `Authorization: Bearer <token>`",
            ));
        };
        match authenticate(state, token, true).await {
            Ok(p) => Ok(Auth { p, ip }),
            Err(AuthError::Rejected(r)) => {
                state.limiter.record_failure(ip, now);
                state.metrics.inc_auth_failure(r.code());
                Err(refuse(r.message()))
            }
            Err(AuthError::Server(e)) => Err(e),
        }
    }
}

/// `Json<T>` whose rejections use the API's error shape.
pub struct AppJson<T>(pub T);

#[axum::async_trait]
impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(rej) => Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("invalid JSON body: {}", rej.body_text()),
            )),
        }
    }
}

/// An optional JSON body: empty means `T::default()`.
pub async fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidInput, format!("invalid JSON body: {e}")))
}

pub struct Created<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, axum::Json(self.0)).into_response()
    }
}

// ---------- authorization: the one place ----------

/// Resolves `{org}` for the caller. Principals reach their own org; principals
/// of the root org whose rights cover `orgs:get:<org>` reach any org. Every
/// other org answers 404, as if it did not exist.
pub async fn org_for(c: &mut AnyConnection, p: &Principal, org: &str) -> ApiResult<OrgRow> {
    let row = store::find_org(c, org)
        .await?
        .ok_or_else(|| ApiError::not_found("org", org).with_field("org"))?;
    if row.id == p.org_id || can_administer(p, &row) {
        Ok(row)
    } else {
        // Clients tell "the org is out of reach" from "the object is gone" by this field.
        Err(ApiError::not_found("org", org).with_field("org"))
    }
}

pub fn can_administer(p: &Principal, org: &OrgRow) -> bool {
    p.in_root_org && p.app_id.is_none() && p.allows("orgs", "get", &org.id, Some(&org.name))
}

/// Checks that the caller may do `action` on the object `id`/`name` of type
/// `scope`. `app` is the app the object belongs to, if any: a token scoped to
/// an app reaches only objects of that app.
pub fn authorize(
    p: &Principal,
    scope: &str,
    action: &str,
    id: &str,
    name: Option<&str>,
    app: Option<&str>,
) -> ApiResult<()> {
    if let Some(own) = &p.app_id {
        if app != Some(own.as_str()) {
            return Err(ApiError::forbidden(format!(
                "this token is scoped to app {:?} and cannot {action} {scope} outside it",
                p.app_name.as_deref().unwrap_or(own)
            )));
        }
    }
    if p.allows(scope, action, id, name) {
        Ok(())
    } else {
        let which = name.unwrap_or(id);
        Err(ApiError::forbidden(format!(
            "this token does not allow {action} on {scope} {which:?} (needs claim {scope}:{action}:{which} or broader)"
        )))
    }
}

/// Refuses to grant `wanted` unless the caller holds all of it (no escalation).
pub fn check_no_escalation(
    p: &Principal,
    wanted: &sigil_proto::ClaimSet,
    field: &str,
) -> ApiResult<()> {
    let missing = p.not_covered(wanted);
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(|c| c.to_string()).collect();
    Err(ApiError::new(
        ErrorCode::Escalation,
        format!(
            "cannot grant {field} beyond your own rights: {}",
            list.join(", ")
        ),
    )
    .with_field(field))
}

// ---------- audit ----------

/// Writes one audit entry, in the caller's transaction. `target` is (type, id).
pub async fn audit(
    c: &mut AnyConnection,
    state: &AppState,
    auth: &Auth,
    org_id: &str,
    action: &str,
    (target_type, target_id): (&str, Option<&str>),
    details: serde_json::Value,
) -> ApiResult<()> {
    store::insert_audit(
        c,
        &AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: org_id.to_string(),
            actor_id: Some(auth.p.id.clone()),
            actor_name: auth.p.name.clone(),
            action: action.to_string(),
            target_type: target_type.to_string(),
            target_id: target_id.map(str::to_string),
            details,
            client_ip: auth.ip.map(|i| i.to_string()),
            created_at: state.now(),
        },
    )
    .await?;
    Ok(())
}

// ---------- pagination ----------

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// (decoded cursor, limit) from the query.
pub fn page_params(cursor: Option<&str>, limit: Option<u32>) -> ApiResult<(Option<String>, i64)> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after = match cursor {
        None | Some("") => None,
        Some(c) => {
            let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| {
                ApiError::invalid("cursor", "invalid cursor: pass back a next_cursor")
            })?;
            Some(
                String::from_utf8(bytes)
                    .map_err(|_| ApiError::invalid("cursor", "invalid cursor"))?,
            )
        }
    };
    Ok((after, limit as i64))
}

/// Cuts a fetched `limit + 1` rows to a page, with the cursor of the last item.
pub fn paginate<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    id: impl Fn(&R) -> String,
    map: impl FnMut(R) -> T,
) -> sigil_proto::api::Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| URL_SAFE_NO_PAD.encode(id(r)))
    } else {
        None
    };
    sigil_proto::api::Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

pub fn to_uuid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).unwrap_or_default()
}
