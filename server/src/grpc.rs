//! The gRPC verification API, `sigil.v1.Verifier` (`proto/sigil/v1/verifier.proto`),
//! with the standard health service and server reflection (v1 and v1alpha).
//!
//! # Verify
//! Runs [`crate::ops::session::verify`], over [`crate::auth::authenticate`] — the very function the REST API authenticates its
//! own callers with — so a token is valid here exactly when it would be
//! accepted by REST. Unauthenticated: the caller proves possession of the
//! token it asks about, nothing more is revealed than the token's own rights.
//! `valid` is true only when the token is valid *and*, if `required_claim` was
//! given, its effective rights cover it (`reason = not_allowed` otherwise), so
//! a resource server that only looks at `valid` is never too permissive.
//! `client_address` is the address the token was presented from: a token
//! bound to `allowed_cidrs` is refused (`address_not_allowed`) without it or
//! outside them; one that does not parse is `INVALID_ARGUMENT` naming it.
//! Only a valid answer takes a use of a token with `max_uses` (`exhausted`
//! once none is left).
//! When the database cannot be reached the call fails with `UNAVAILABLE`:
//! the verifier fails closed, never answering from a stale view.
//!
//! # WatchRevocations
//! Needs `authorization: Bearer <token>` metadata whose effective rights allow
//! `revocations:list:*` (as `GET /v1/revocations`); it sees its own org's
//! revocations, or every org's for a root-org administrator. The watcher's
//! token is bound to the gRPC peer address, takes one use when the stream
//! opens, and is re-checked (without a use) on every wake-up, so revoking it
//! ends the stream.
//! Replays every revocation after `since` in cursor order, then stays live:
//! woken by local revocations, by other replicas (LISTEN/NOTIFY, see
//! [`crate::jobs::peers`]), and by a periodic catch-up. Cursors commit in
//! increasing order (the store's `revoke_token` serializes revoking transactions
//! on PostgreSQL; SQLite has one writer), so "everything after my cursor" is
//! exact: a client that reconnects with the last cursor it saw misses nothing.

use crate::domain::principal::Principal;
use crate::error::ApiError;
use crate::ops::revocations::{self, visible_to};
use crate::ops::session::{self, Verdict};
use crate::state::AppState;
use sigil_proto::v1::verifier_server::{Verifier, VerifierServer};
use sigil_proto::v1::{RevocationEvent, VerifyRequest, VerifyResponse, WatchRevocationsRequest};
use sigil_proto::{ErrorCode, SecretString};
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Events read per query when replaying.
const BATCH: i64 = 500;
/// A watch stream re-reads the table this often even without a wake-up.
const WATCH_POLL: Duration = Duration::from_secs(5);

/// The `sigil.v1.Verifier` implementation.
#[derive(Clone)]
pub struct VerifierService {
    state: AppState,
    /// Becomes true when the server shuts down: ends the watch streams.
    stop: tokio::sync::watch::Receiver<bool>,
}

impl VerifierService {
    pub fn new(state: AppState, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        Self { state, stop }
    }
}

/// The gRPC status of an operation's error.
fn status(e: ApiError) -> Status {
    match e.code {
        ErrorCode::Unavailable => Status::unavailable(e.message),
        ErrorCode::Unauthenticated => Status::unauthenticated(e.message),
        ErrorCode::Forbidden => Status::permission_denied(e.message),
        ErrorCode::InvalidInput => Status::invalid_argument(e.message),
        _ => Status::internal(e.message),
    }
}

/// The bearer token of `authorization` metadata. More than one entry is
/// refused, as REST refuses two `Authorization` headers: never "first wins".
// tonic answers with a `Status`; it is built once per refused call.
#[allow(clippy::result_large_err)]
fn bearer<T>(req: &Request<T>) -> Result<SecretString, Status> {
    let missing = || {
        Status::unauthenticated(
            "missing bearer token: send `authorization: Bearer <token>` metadata",
        )
    };
    let mut all = req.metadata().get_all("authorization").iter();
    let v = all.next().ok_or_else(missing)?;
    if all.next().is_some() {
        return Err(Status::invalid_argument(
            "more than one authorization metadata entry: send exactly one",
        ));
    }
    let (scheme, rest) = v
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing());
    }
    Ok(SecretString::new(rest.trim()))
}

/// The caller's address, for the address binding of a bearer token: the TCP
/// peer, on the gRPC port or on the REST port (which hands gRPC requests over
/// with axum's connection info). IPv4-mapped IPv6 is its IPv4 address.
fn peer<T>(req: &Request<T>) -> Option<std::net::IpAddr> {
    req.remote_addr()
        .or_else(|| {
            req.extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0)
        })
        .map(|a| a.ip().to_canonical())
}

type EventStream = Pin<Box<dyn Stream<Item = Result<RevocationEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Verifier for VerifierService {
    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        let req = request.into_inner();
        let verdict = session::verify(
            &self.state,
            &req.token,
            req.required_claim.as_deref(),
            req.client_address.as_deref(),
        )
        .await
        .map_err(status)?;
        let resp = match verdict {
            Verdict::Valid { principal, allowed } => {
                let p = *principal;
                VerifyResponse {
                    valid: allowed,
                    reason: if allowed { "" } else { "not_allowed" }.into(),
                    claims: p.effective_claims().to_strings(),
                    org: p.org_name,
                    app: p.app_name.unwrap_or_default(),
                    owner: p.id.to_string(),
                    expires_at: p.expires_at,
                    token_id: p.token_id.to_string(),
                    kind: p.kind.as_str().to_string(),
                    allowed,
                    owner_name: p.name,
                    parent_id: p.parent_id.map(|id| id.to_string()).unwrap_or_default(),
                }
            }
            Verdict::Rejected(r) => VerifyResponse {
                valid: false,
                reason: r.code().into(),
                ..Default::default()
            },
        };
        Ok(Response::new(resp))
    }

    type WatchRevocationsStream = EventStream;

    async fn watch_revocations(
        &self,
        request: Request<WatchRevocationsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let token = bearer(&request)?;
        let from = peer(&request);
        let p = revocations::authorize_watch(&self.state, token.expose(), from, false)
            .await
            .map_err(status)?;
        let since = i64::try_from(request.into_inner().since).unwrap_or(i64::MAX);
        // Subscribe before the first read, so a revocation committed between
        // the replay and the wait still wakes the loop.
        let wake = self.state.revocations.subscribe();
        let (tx, rx) = mpsc::channel(128);
        tokio::spawn(watch(
            self.state.clone(),
            (token, from),
            p,
            since,
            wake,
            self.stop.clone(),
            tx,
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// Sends every revocation after `cursor` the watcher (its token, presented
/// from its address) may see, then waits for news.
async fn watch(
    state: AppState,
    (token, from): (SecretString, Option<std::net::IpAddr>),
    mut p: Principal,
    mut cursor: i64,
    mut wake: tokio::sync::broadcast::Receiver<()>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    tx: mpsc::Sender<Result<RevocationEvent, Status>>,
) {
    loop {
        loop {
            let rows = match revocations::page(&state, cursor, BATCH).await {
                Ok((rows, _)) => rows,
                Err(e) => {
                    let _ = tx.send(Err(status(e))).await;
                    return;
                }
            };
            let full = rows.len() as i64 >= BATCH;
            for r in rows {
                cursor = r.seq;
                if !visible_to(&p, &r.org_name) {
                    continue;
                }
                let ev = RevocationEvent {
                    token_id: r.token_id.to_string(),
                    revoked_at: r.revoked_at,
                    cursor: u64::try_from(r.seq).unwrap_or(0),
                    org: r.org_name,
                    checkpoint: false,
                };
                if tx.send(Ok(ev)).await.is_err() {
                    return;
                }
            }
            if !full {
                break;
            }
        }
        // Caught up: tells the client its view is complete up to `cursor`
        // (and, being sent at least every WATCH_POLL, that the stream is alive).
        let checkpoint = RevocationEvent {
            cursor: u64::try_from(cursor).unwrap_or(0),
            checkpoint: true,
            ..Default::default()
        };
        if tx.send(Ok(checkpoint)).await.is_err() {
            return;
        }
        let stopping = tokio::select! {
            r = wake.recv() => matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)),
            _ = tokio::time::sleep(WATCH_POLL) => false,
            _ = tx.closed() => return,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopping {
            let _ = tx
                .send(Err(Status::unavailable(
                    "the server is shutting down; reconnect with your last cursor",
                )))
                .await;
            return;
        }
        // The watcher's own token may have been revoked or its rights shrunk.
        match revocations::authorize_watch(&state, token.expose(), from, true).await {
            Ok(np) => p = np,
            Err(e) => {
                let _ = tx.send(Err(status(e))).await;
                return;
            }
        }
    }
}

/// The gRPC routes: Verifier, health, reflection (v1 and v1alpha); and the
/// health reporter, which the job [`crate::jobs::grpc_health`] keeps in step
/// with the database (NOT_SERVING while it is unreachable).
pub async fn routes(
    state: AppState,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(tonic::service::Routes, tonic_health::server::HealthReporter)> {
    let (mut reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<VerifierServer<VerifierService>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sigil_proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sigil_proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let routes = tonic::service::Routes::new(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(VerifierServer::new(VerifierService::new(state, stop)));
    Ok((routes, reporter))
}

/// Sets the health status of the Verifier and of the server as a whole
/// (used by the job [`crate::jobs::grpc_health`]).
pub async fn set_health(reporter: &mut tonic_health::server::HealthReporter, serving: bool) {
    if serving {
        reporter
            .set_serving::<VerifierServer<VerifierService>>()
            .await;
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
    } else {
        reporter
            .set_not_serving::<VerifierServer<VerifierService>>()
            .await;
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    }
}

/// Serves the gRPC API alone on `listener` until `shutdown` resolves.
pub async fn serve(
    routes: tonic::service::Routes,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
        .map_err(|e| anyhow::anyhow!("gRPC listener: {e}"))?;
    tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// The REST router, with gRPC requests (`content-type: application/grpc…`)
/// routed to the gRPC services instead: one port can serve both.
pub fn with_rest(rest: axum::Router, grpc: tonic::service::Routes) -> axum::Router {
    use tower::ServiceExt;
    let grpc = grpc.into_axum_router();
    axum::Router::new().fallback_service(tower::service_fn(move |req: axum::extract::Request| {
        let is_grpc = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let svc = if is_grpc { grpc.clone() } else { rest.clone() };
        svc.oneshot(req)
    }))
}
