//! A resource server protected by Sigil, verifying tokens offline.
//!
//! `GET /machines/{id}` needs a bearer token whose claims allow
//! `machines:get:{id}` (e.g. `machines:get:*`). Tokens are checked with
//! `sigil_proto::verifier::TokenVerifier`: signature against Sigil's JWKS,
//! `iss`, `exp`/`nbf`, and revocations streamed over gRPC `WatchRevocations`,
//! so no request costs a round trip to Sigil and a revocation is honoured
//! within a second.
//!
//! Environment:
//! - `SIGIL_ENDPOINT`: Sigil's REST URL (default `http://127.0.0.1:8080`).
//! - `SIGIL_GRPC_ENDPOINT`: Sigil's gRPC URL (default: the REST URL, which answers gRPC too).
//! - `SIGIL_TOKEN`: a token allowing `revocations:list:*`, to watch revocations.
//! - `SIGIL_ISSUER`: the expected `iss` (default `sigil`).
//! - `LISTEN`: this server's address (default `127.0.0.1:3000`).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sigil_proto::verifier::{TokenVerifier, VerifierConfig, VerifyError};
use sigil_proto::SecretString;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint =
        std::env::var("SIGIL_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("SIGIL_TOKEN")
        .map_err(|_| "SIGIL_TOKEN must hold a token allowing revocations:list:*")?;
    let mut cfg = VerifierConfig::new(endpoint, SecretString::new(token));
    cfg.grpc_endpoint = std::env::var("SIGIL_GRPC_ENDPOINT").ok();
    if let Ok(iss) = std::env::var("SIGIL_ISSUER") {
        cfg.issuer = iss;
    }
    let verifier = TokenVerifier::start(cfg).await?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/machines/:id", get(machine))
        .with_state(verifier);
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

async fn machine(
    State(verifier): State<TokenVerifier>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "missing bearer token",
        );
    };
    let t = match verifier.verify(token.trim()).await {
        Ok(t) => t,
        // Fail closed, but say it is our trouble, not the caller's token.
        Err(VerifyError::Stale) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "stale",
                &VerifyError::Stale.to_string(),
            )
        }
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.code(), &e.to_string()),
    };
    if !t.allows("machines", "get", &id) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("this token does not allow machines:get:{id}"),
        );
    }
    Json(serde_json::json!({ "machine": id, "caller": t.owner, "token_id": t.id })).into_response()
}
