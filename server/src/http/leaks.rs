//! `POST /v1/leaks`: leak reports, without authentication; see
//! [`crate::ops::leaks`]. The rate limit is taken before the body is read,
//! so a malformed report counts too.

use super::{client_ip, AppJson};
use crate::error::{ApiError, ApiResult};
use crate::ops::leaks;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use sigil_proto::api::{LeakReceipt, LeakReport};
use std::net::IpAddr;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/leaks", post(report))
}

/// The client's address, counted against the leak-report rate limit (429
/// past it).
struct Admitted(Option<IpAddr>);

#[axum::async_trait]
impl FromRequestParts<AppState> for Admitted {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, state);
        leaks::admit(state, ip)?;
        Ok(Admitted(ip))
    }
}

async fn report(
    State(state): State<AppState>,
    Admitted(ip): Admitted,
    AppJson(req): AppJson<LeakReport>,
) -> ApiResult<(StatusCode, Json<LeakReceipt>)> {
    let receipt = leaks::report(&state, ip, req)?;
    Ok((StatusCode::ACCEPTED, Json(receipt)))
}
