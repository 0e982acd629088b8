//! Offline verification of Sigil tokens, for Rust resource servers (feature `verifier`).
//!
//! A [`TokenVerifier`] checks tokens without a round trip to Sigil:
//! - the signature, against the server's JWKS (`/.well-known/jwks.json`),
//!   fetched at start and again when a token names an unknown `kid` (at most
//!   once per [`VerifierConfig::jwks_min_refresh`]), cached by `kid`;
//! - EdDSA only (`alg: none`, HMAC and everything else refused), `iss`, and
//!   `exp`/`nbf`/`iat` with zero leeway, like the server;
//! - revocation, against a set fed by the gRPC `WatchRevocations` stream. A
//!   background task keeps it subscribed, resuming from its last cursor after
//!   a disconnect, so it misses nothing.
//!
//! It fails closed: when the stream has been silent for longer than
//! [`VerifierConfig::max_staleness`] (the server sends a checkpoint at least
//! every 5 seconds), every verification fails with [`VerifyError::Stale`]
//! until it has caught up again.
//!
//! What offline verification cannot know: an owner's *current* permissions.
//! A token's claims are checked as issued; if a bot's permissions were shrunk
//! after issue, use the online `Verify` RPC (which answers with effective
//! rights), or revoke the tokens. Deleting a bot revokes its tokens, so that
//! case is covered here.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use sigil_proto::verifier::{TokenVerifier, VerifierConfig};
//! let v = TokenVerifier::start(VerifierConfig::new(
//!     "http://127.0.0.1:8080",
//!     sigil_proto::SecretString::new("<a token allowing revocations:list:*>"),
//! ))
//! .await?;
//! let t = v.verify("<the bearer token of a request>").await?;
//! if t.allows("machines", "get", "48de76fd") { /* ... */ }
//! # Ok(()) }
//! ```

use crate::secret::SecretString;
use crate::v1::verifier_client::VerifierClient;
use crate::v1::WatchRevocationsRequest;
use crate::{Claim, ClaimSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How to reach Sigil, and how strict to be.
#[derive(Clone, Debug)]
pub struct VerifierConfig {
    /// The REST endpoint, for the JWKS.
    pub endpoint: String,
    /// The gRPC endpoint; default: `endpoint` (Sigil answers gRPC on its REST port too).
    pub grpc_endpoint: Option<String>,
    /// The expected `iss`.
    pub issuer: String,
    /// A token allowing `revocations:list:*`, for `WatchRevocations`.
    pub watch_token: SecretString,
    /// Longest silence of the revocation stream before verifying fails closed.
    pub max_staleness: Duration,
    /// Shortest interval between two JWKS fetches triggered by unknown kids.
    pub jwks_min_refresh: Duration,
    /// How long [`TokenVerifier::start`] waits for the first complete replay.
    pub start_timeout: Duration,
}

impl VerifierConfig {
    pub fn new(endpoint: impl Into<String>, watch_token: SecretString) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            grpc_endpoint: None,
            issuer: "sigil".into(),
            watch_token,
            max_staleness: Duration::from_secs(15),
            jwks_min_refresh: Duration::from_secs(5),
            start_timeout: Duration::from_secs(15),
        }
    }
}

/// Why a token was refused, or why verification could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a well-formed Sigil JWT")]
    Malformed,
    #[error("the token is not signed with EdDSA")]
    BadAlgorithm,
    #[error("the token's header does not say `typ: JWT`")]
    BadType,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token has been revoked")]
    Revoked,
    #[error("the revocation feed is not current; refusing to verify (fail closed)")]
    Stale,
}

impl VerifyError {
    /// The same stable codes as the `Verify` RPC's `reason`.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "malformed",
            VerifyError::BadAlgorithm => "bad_algorithm",
            VerifyError::BadType => "bad_type",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::WrongIssuer => "wrong_issuer",
            VerifyError::Revoked => "revoked",
            VerifyError::Stale => "stale",
        }
    }
}

/// Why [`TokenVerifier::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot fetch the JWKS: {0}")]
    Jwks(String),
    #[error("invalid gRPC endpoint: {0}")]
    Endpoint(String),
    #[error("the revocation feed did not catch up within {0:?}: {1}")]
    Timeout(Duration, String),
}

/// The payload of a verified token.
#[derive(Debug, Clone, Deserialize)]
struct Payload {
    iss: String,
    sub: String,
    org: String,
    #[serde(default)]
    app: Option<String>,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    claims: Vec<String>,
    kind: String,
}

/// A token that passed every offline check.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The token id (`jti`).
    pub id: String,
    /// The owner id (`sub`).
    pub owner: String,
    pub org: String,
    pub app: Option<String>,
    /// `bot` or `user`.
    pub kind: String,
    /// The claims as issued.
    pub claims: ClaimSet,
    /// Unix seconds.
    pub expires_at: i64,
}

impl VerifiedToken {
    /// Whether the claims allow `action` on `specific` of type `scope`.
    pub fn allows(&self, scope: &str, action: &str, specific: &str) -> bool {
        self.claims.allows(scope, action, specific)
    }

    /// Whether the claims cover every atom of `claim` (e.g. `machines:get,list:*`).
    pub fn covers(&self, claim: &Claim) -> bool {
        ClaimSet(vec![claim.clone()]).is_subset_of(&self.claims)
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    #[serde(default)]
    crv: String,
    #[serde(default)]
    x: String,
}

struct Inner {
    cfg: VerifierConfig,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_jwks: Mutex<Option<Instant>>,
    revoked: RwLock<HashSet<String>>,
    cursor: AtomicU64,
    /// When the stream last proved the revocation set current.
    fresh_at: Mutex<Option<Instant>>,
}

/// See the module documentation. Cheap to clone; the background task ends
/// when the last clone is dropped.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl TokenVerifier {
    /// Fetches the JWKS, subscribes to revocations and waits until the replay
    /// of past revocations is complete.
    pub async fn start(cfg: VerifierConfig) -> Result<Self, StartError> {
        let grpc = cfg
            .grpc_endpoint
            .clone()
            .unwrap_or_else(|| cfg.endpoint.clone());
        let channel = tonic::transport::Endpoint::from_shared(grpc)
            .map_err(|e| StartError::Endpoint(e.to_string()))?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true)
            .connect_lazy();
        let timeout = cfg.start_timeout;
        let inner = Arc::new(Inner {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| StartError::Jwks(e.to_string()))?,
            cfg,
            keys: RwLock::new(HashMap::new()),
            last_jwks: Mutex::new(None),
            revoked: RwLock::new(HashSet::new()),
            cursor: AtomicU64::new(0),
            fresh_at: Mutex::new(None),
        });
        inner.fetch_jwks().await.map_err(StartError::Jwks)?;
        let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(String::new());
        tokio::spawn(watch(Arc::downgrade(&inner), channel, ready_tx));
        let v = TokenVerifier { inner };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if v.is_current() {
                return Ok(v);
            }
            match tokio::time::timeout_at(deadline, ready_rx.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    let last = ready_rx.borrow().clone();
                    return Err(StartError::Timeout(timeout, last));
                }
            }
        }
    }

    /// Whether the revocation set is known to be current (fail-closed check).
    pub fn is_current(&self) -> bool {
        self.inner
            .fresh_at
            .lock()
            .ok()
            .and_then(|f| *f)
            .is_some_and(|t| t.elapsed() <= self.inner.cfg.max_staleness)
    }

    /// The cursor of the last revocation or checkpoint received.
    pub fn cursor(&self) -> u64 {
        self.inner.cursor.load(Ordering::SeqCst)
    }

    /// Whether the token with id `jti` is known to be revoked.
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.inner
            .revoked
            .read()
            .map(|r| r.contains(jti))
            .unwrap_or(true)
    }

    /// Verifies `token` offline. See the module documentation.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(VerifyError::BadAlgorithm);
        }
        // As the server: a Sigil token says `typ: JWT`.
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
        {
            return Err(VerifyError::BadType);
        }
        let kid = header.kid.ok_or(VerifyError::Malformed)?;
        let key = match self.inner.key(&kid) {
            Some(k) => k,
            None => {
                self.inner.refresh_jwks_if_due().await;
                self.inner.key(&kid).ok_or(VerifyError::UnknownKey)?
            }
        };
        let mut v = Validation::new(Algorithm::EdDSA);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub", "jti"]);
        let p = jsonwebtoken::decode::<Payload>(token, &key, &v)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::InvalidSignature | K::InvalidEddsaKey => VerifyError::BadSignature,
                    K::InvalidAlgorithm => VerifyError::BadAlgorithm,
                    _ => VerifyError::Malformed,
                }
            })?
            .claims;
        if p.iss != self.inner.cfg.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        let now = now_unix();
        if now >= p.exp {
            return Err(VerifyError::Expired);
        }
        if now < p.nbf || now < p.iat {
            return Err(VerifyError::NotYetValid);
        }
        if !self.is_current() {
            return Err(VerifyError::Stale);
        }
        if self.is_revoked(&p.jti) {
            return Err(VerifyError::Revoked);
        }
        let claims = ClaimSet::parse(&p.claims).map_err(|_| VerifyError::Malformed)?;
        Ok(VerifiedToken {
            id: p.jti,
            owner: p.sub,
            org: p.org,
            app: p.app,
            kind: p.kind,
            claims,
            expires_at: p.exp,
        })
    }
}

impl Inner {
    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    async fn refresh_jwks_if_due(&self) {
        let due = match self.last_jwks.lock() {
            Ok(last) => last.is_none_or(|t| t.elapsed() >= self.cfg.jwks_min_refresh),
            Err(_) => false,
        };
        if due {
            let _ = self.fetch_jwks().await;
        }
    }

    async fn fetch_jwks(&self) -> Result<(), String> {
        if let Ok(mut last) = self.last_jwks.lock() {
            *last = Some(Instant::now());
        }
        let url = format!("{}/.well-known/jwks.json", self.cfg.endpoint);
        let jwks: Jwks = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for k in jwks.keys {
            // Only Ed25519 keys: anything else could only enable algorithm confusion.
            if k.kty == "OKP" && k.crv == "Ed25519" {
                if let Ok(d) = DecodingKey::from_ed_components(&k.x) {
                    keys.insert(k.kid, d);
                }
            }
        }
        if let Ok(mut cur) = self.keys.write() {
            // Keep keys we knew: a key leaves the JWKS only once its tokens expired.
            cur.extend(keys);
        }
        Ok(())
    }
}

/// Keeps a `WatchRevocations` stream open, resuming from the last cursor.
async fn watch(
    inner: std::sync::Weak<Inner>,
    channel: tonic::transport::Channel,
    ready: tokio::sync::watch::Sender<String>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let (token, since) = match inner.upgrade() {
            Some(i) => (i.cfg.watch_token.clone(), i.cursor.load(Ordering::SeqCst)),
            None => return,
        };
        let mut client = VerifierClient::new(channel.clone());
        let mut req = tonic::Request::new(WatchRevocationsRequest { since });
        let outcome = match format!("Bearer {}", token.expose()).parse() {
            Ok(v) => {
                req.metadata_mut().insert("authorization", v);
                match client.watch_revocations(req).await {
                    Ok(resp) => {
                        let mut stream = resp.into_inner();
                        loop {
                            match stream.message().await {
                                Ok(Some(ev)) => {
                                    let Some(i) = inner.upgrade() else { return };
                                    if !ev.checkpoint && !ev.token_id.is_empty() {
                                        if let Ok(mut r) = i.revoked.write() {
                                            r.insert(ev.token_id);
                                        }
                                    }
                                    i.cursor.fetch_max(ev.cursor, Ordering::SeqCst);
                                    if ev.checkpoint {
                                        if let Ok(mut f) = i.fresh_at.lock() {
                                            *f = Some(Instant::now());
                                        }
                                        let _ = ready.send(String::new());
                                        backoff = Duration::from_millis(100);
                                    }
                                }
                                Ok(None) => break "the stream ended".to_string(),
                                Err(s) => break format!("{}: {}", s.code(), s.message()),
                            }
                        }
                    }
                    Err(s) => format!("{}: {}", s.code(), s.message()),
                }
            }
            Err(_) => "the watch token is not valid header text".to_string(),
        };
        let _ = ready.send(outcome);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
