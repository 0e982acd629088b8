//! The REST API: one router per resource, merged here, and the pieces every
//! handler shares — the authenticated caller ([`Auth`]), JSON bodies that fail
//! in the API's own error shape ([`AppJson`]), pagination, and the error
//! response. Handlers are thin: extract, one call into [`crate::ops`], the
//! wire type (made in [`crate::wire`]). No handler opens a transaction or
//! touches the store.
//!
//! # Layout
//! - `operations.rs`: health, readiness, metrics, OpenAPI, JWKS, whoami, key
//!   rotation, the revocation feed, the audit log.
//! - `orgs.rs`, `principals.rs` (bots and users, one generic set of
//!   handlers), `apps.rs`, `tokens.rs`: the org's resources.
//! - `oauth.rs`: RFC 7009 revocation and RFC 7662 introspection by value.
//! - `openapi`: the OpenAPI document, from the route table and the wire types.

mod apps;
mod oauth;
mod openapi;
mod operations;
mod orgs;
mod principals;
mod tokens;

pub use crate::ops::tokens::IDEMPOTENCY_WINDOW;

use crate::auth::{authenticate, AuthError};
use crate::error::{ApiError, ApiResult};
use crate::ops::{Caller, PageRequest};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use sigil_proto::error::{ErrorBody, ErrorDetail};
use sigil_proto::ErrorCode;
use std::net::{IpAddr, SocketAddr};

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(operations::router())
        .merge(orgs::router())
        .merge(principals::router())
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
pub struct Auth(pub Caller);

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
            Ok(p) => Ok(Auth(Caller { p, ip })),
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

// ---------- pagination ----------

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// The page a list asks for, from its `cursor` and `limit` parameters.
pub fn page_params(cursor: Option<&str>, limit: Option<u32>) -> ApiResult<PageRequest> {
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
    Ok(PageRequest {
        after,
        limit: i64::from(limit),
    })
}

/// A page of the operations layer on the wire: items mapped, the next
/// cursor encoded.
pub fn page<T, U>(p: crate::ops::Page<T>, map: impl FnMut(T) -> U) -> sigil_proto::api::Page<U> {
    sigil_proto::api::Page {
        next_cursor: p.next_after.as_deref().map(|a| URL_SAFE_NO_PAD.encode(a)),
        items: p.items.into_iter().map(map).collect(),
    }
}

// ---------- errors ----------

/// Every refusal in the API's JSON error shape, with the status of its code.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (status, axum::Json(body)).into_response()
    }
}
