//! The REST API: one router per resource, merged here, and the pieces every
//! handler shares — the authenticated caller ([`Auth`]), and extractors whose
//! every refusal is in the API's own error shape and names the field or
//! parameter: JSON object bodies ([`AppJson`], [`optional_json`]), raw bodies
//! with a 413 over the limit ([`AppBytes`]), query strings ([`AppQuery`]) and
//! route segments checked before any lookup ([`AppPath`]); pagination; and
//! the error response. Handlers are thin: extract, one call into [`crate::ops`], the
//! wire type (made in [`crate::wire`]). No handler opens a transaction or
//! touches the store.
//!
//! # Layout
//! - `operations.rs`: health, readiness, metrics, OpenAPI, JWKS, whoami, key
//!   rotation, the revocation feed, the audit log.
//! - `orgs.rs`, `principals.rs` (bots and users, one generic set of
//!   handlers), `apps.rs`, `tokens.rs`: the org's resources.
//! - `oauth.rs`: RFC 7009 revocation and RFC 7662 introspection by value.
//! - `webhooks.rs`: an org's webhooks, their delivery log, test deliveries.
//! - `leaks.rs`: leak reports, without authentication, rate limited.
//! - `openapi`: the OpenAPI document, from the route table and the wire types.
//! - `middleware.rs`: what every router gets (request log and counters);
//!   `extract.rs`: the extractors and the client address; `pagination.rs`:
//!   page sizes and cursors. Re-exported here, so handlers name
//!   `super::{Auth, AppJson, page, …}`.

mod apps;
mod extract;
mod leaks;
mod middleware;
mod oauth;
mod openapi;
mod operations;
mod orgs;
mod pagination;
mod principals;
mod tokens;
mod ui;
mod webhooks;

pub use crate::ops::tokens::IDEMPOTENCY_WINDOW;
pub use extract::*;
pub use middleware::redact_uri;
pub use pagination::*;

use crate::error::ApiError;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sigil_proto::error::{ErrorBody, ErrorDetail};
use sigil_proto::ErrorCode;

/// The whole HTTP application, `/metrics` included.
pub fn app(state: AppState) -> Router {
    app_with(state, true)
}

/// `/metrics` alone, for `--metrics-listen`: the same answers and refusals.
pub fn metrics_app(state: AppState) -> Router {
    finish(operations::metrics_router(), state)
}

/// The HTTP application, with `/metrics` or without it (then it is served
/// on its own address, [`metrics_app`]).
pub fn app_with(state: AppState, metrics: bool) -> Router {
    let routes = Router::new()
        .merge(operations::router())
        .merge(orgs::router())
        .merge(principals::router())
        .merge(apps::router())
        .merge(tokens::router())
        .merge(leaks::router())
        .merge(oauth::router())
        .merge(webhooks::router())
        .merge(ui::router());
    let routes = if metrics {
        routes.merge(operations::metrics_router())
    } else {
        routes
    };
    finish(routes, state)
}

/// The fallbacks and the request log every listener's router gets.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "method not allowed on this route",
            )
        })
        // One middleware counts and logs every request: no span, and no
        // allocation unless the line is written.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::count_requests,
        ))
        .with_state(state)
}

pub struct Created<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, axum::Json(self.0)).into_response()
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
