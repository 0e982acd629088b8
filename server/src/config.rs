//! `sigil server`'s configuration, all of it: the flags ([`ServerArgs`],
//! each also `SIGIL_…` in the environment), the checked [`Settings`] every
//! layer reads, their defaults, and the [`Timeouts`] of requests and of the
//! shutdown.
//!
//! A new setting touches this file only: a field of [`Settings`] (with its
//! default in `Default`), its flag in [`ServerArgs`] and its line in
//! [`settings`]. Modules that use a default name the constant here.

use sigil_proto::duration::parse_duration_for;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long a replica's lease lasts by default (see [`crate::replica::lease`]).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(2);
/// Leak reports a client address may file per hour, by default.
pub const DEFAULT_LEAK_REPORTS_PER_HOUR: u32 = 60;
/// The first webhook retry's delay, in seconds, by default.
pub const DEFAULT_WEBHOOK_RETRY_BASE: i64 = 10;
/// How often each replica looks for due deliveries besides being woken.
pub const DEFAULT_WEBHOOK_POLL: Duration = Duration::from_secs(1);
/// How often each replica looks for tokens to warn about, by default.
pub const DEFAULT_EXPIRY_SCAN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub max_user_token_lifetime: i64,
    pub default_token_lifetime: i64,
    pub auth_failures_per_minute: u32,
    /// Take the client address from the last `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
    /// The org whose principals may administer other orgs.
    pub root_org: String,
    /// How long a replica's lease lasts (see [`crate::replica::lease`]): the longest a
    /// change waits for a replica that stopped answering.
    pub lease: std::time::Duration,
    /// Leak reports (`POST /v1/leaks`) a client address may file per hour.
    pub leak_reports_per_hour: u32,
    /// Webhook retries: the first waits this many seconds, each next twice
    /// as long (see [`crate::jobs::delivery`]); tests set 0.
    pub webhook_retry_base: i64,
    /// How often each replica looks for due deliveries besides being woken.
    pub webhook_poll: std::time::Duration,
    /// Refuse loopback and private webhook receivers too (besides the
    /// always-refused link-local/metadata ones); see [`crate::jobs::delivery`].
    pub webhook_deny_private: bool,
    /// How often each replica looks for tokens to warn about; see [`crate::jobs::expiry`].
    pub expiry_scan: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "sigil".into(),
            max_user_token_lifetime: sigil_proto::rules::DEFAULT_MAX_USER_TOKEN_LIFETIME_SECS,
            default_token_lifetime: sigil_proto::rules::DEFAULT_TOKEN_LIFETIME_SECS,
            auth_failures_per_minute: 30,
            trust_forwarded_for: false,
            root_org: "default".into(),
            lease: DEFAULT_LEASE,
            leak_reports_per_hour: DEFAULT_LEAK_REPORTS_PER_HOUR,
            webhook_retry_base: DEFAULT_WEBHOOK_RETRY_BASE,
            webhook_poll: DEFAULT_WEBHOOK_POLL,
            webhook_deny_private: false,
            expiry_scan: DEFAULT_EXPIRY_SCAN,
        }
    }
}

/// Settings from flags, checked.
pub fn settings(args: &ServerArgs) -> anyhow::Result<Settings> {
    Ok(Settings {
        issuer: args.issuer.clone(),
        max_user_token_lifetime: parse_duration_for(
            "max-user-token-lifetime",
            &args.max_user_token_lifetime,
        )?,
        default_token_lifetime: parse_duration_for(
            "default-token-lifetime",
            &args.default_token_lifetime,
        )?,
        auth_failures_per_minute: args.auth_failures_per_minute,
        leak_reports_per_hour: args.leak_rate_limit,
        trust_forwarded_for: args.trust_forwarded_for,
        webhook_retry_base: parse_duration_for("webhook-retry-base", &args.webhook_retry_base)?,
        webhook_deny_private: args.webhook_deny_private,
        expiry_scan: std::time::Duration::from_secs(
            u64::try_from(parse_duration_for(
                "expiry-scan-interval",
                &args.expiry_scan_interval,
            )?)
            .unwrap_or(5),
        ),
        ..Settings::default()
    })
}

/// How long a REST request, its body, and a graceful shutdown may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub request: std::time::Duration,
    pub body: std::time::Duration,
    pub shutdown: std::time::Duration,
}

impl Timeouts {
    pub fn from_args(args: &ServerArgs) -> anyhow::Result<Self> {
        let secs = |field, v: &str| -> anyhow::Result<std::time::Duration> {
            let n = parse_duration_for(field, v)?;
            Ok(std::time::Duration::from_secs(n.unsigned_abs()))
        };
        Ok(Self {
            request: secs("request-timeout", &args.request_timeout)?,
            body: secs("body-timeout", &args.body_timeout)?,
            shutdown: secs("shutdown-timeout", &args.shutdown_timeout)?,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address of the REST API. It answers gRPC too (by content-type).
    #[arg(long, env = "SIGIL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the generated master key.
    #[arg(long, env = "SIGIL_DATA_DIR", default_value = "sigil-data")]
    pub data_dir: PathBuf,
    /// Database URL; `postgres://…` for PostgreSQL (several replicas may share it).
    /// Default: SQLite in --data-dir.
    #[arg(long, env = "SIGIL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Write the bootstrap owner token to this file (mode 0600) instead of printing it.
    #[arg(long, env = "SIGIL_BOOTSTRAP_TOKEN_FILE")]
    pub bootstrap_token_file: Option<PathBuf>,
    /// The `iss` of issued tokens, checked on every token presented.
    #[arg(long, env = "SIGIL_ISSUER", default_value = "sigil")]
    pub issuer: String,
    /// A separate address for the gRPC verification API (`sigil.v1.Verifier`,
    /// health, reflection); port 0 picks a free one, printed at start.
    #[arg(long, env = "SIGIL_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// Serve `/metrics` (Prometheus) on this address only, and no longer on
    /// --listen; port 0 picks a free one, printed at start.
    #[arg(long, env = "SIGIL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// File with the master key (32 random bytes, base64) that encrypts signing
    /// keys at rest. Default: SIGIL_MASTER_KEY, else <data-dir>/master.key,
    /// generated when absent.
    #[arg(long, env = "SIGIL_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Longest lifetime of a human user's token.
    #[arg(long, env = "SIGIL_MAX_USER_TOKEN_LIFETIME", default_value = "24h")]
    pub max_user_token_lifetime: String,
    /// Lifetime of a token issued without an expiry.
    #[arg(long, env = "SIGIL_DEFAULT_TOKEN_LIFETIME", default_value = "90d")]
    pub default_token_lifetime: String,
    /// Lifetime of the bootstrap owner token.
    #[arg(long, env = "SIGIL_BOOTSTRAP_TOKEN_LIFETIME", default_value = "24h")]
    pub bootstrap_token_lifetime: String,
    /// Failed authentications a client may make per minute before it gets 429.
    #[arg(long, env = "SIGIL_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
    pub auth_failures_per_minute: u32,
    /// Leak reports (`POST /v1/leaks`, no authentication) one client address
    /// may file per hour, per replica; past it, 429 `rate_limited`.
    #[arg(long, env = "SIGIL_LEAK_RATE_LIMIT", default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub leak_rate_limit: u32,
    /// Webhook retries: the first after this long, each next twice as long
    /// (capped at 1h, plus up to 10% jitter), for 24h after the event.
    #[arg(long, env = "SIGIL_WEBHOOK_RETRY_BASE", default_value = "10s")]
    pub webhook_retry_base: String,
    /// Refuse webhook receivers on loopback, RFC 1918, 100.64.0.0/10 and
    /// unique-local (fc00::/7) addresses too, checked after DNS resolution.
    /// Link-local (169.254.0.0/16 — cloud metadata —, fe80::/10), unspecified,
    /// multicast and broadcast receivers are always refused.
    #[arg(long, env = "SIGIL_WEBHOOK_DENY_PRIVATE")]
    pub webhook_deny_private: bool,
    /// How often each replica looks for tokens entering their org's expiry
    /// warning window, or past expiry (webhook events `token.expiring`,
    /// `token.expired`).
    #[arg(
        long,
        env = "SIGIL_EXPIRY_SCAN_INTERVAL",
        default_value = "5s",
        hide = true
    )]
    pub expiry_scan_interval: String,
    /// Behind one reverse proxy: take the client address from the last
    /// `X-Forwarded-For` entry (the one the proxy appended) for rate limiting
    /// and the audit log. Only set it when every request comes through that proxy.
    #[arg(long, env = "SIGIL_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Longest time a REST request may take, body included; past it the
    /// client gets a 503 `unavailable` (retry).
    #[arg(long, env = "SIGIL_REQUEST_TIMEOUT", default_value = "30s")]
    pub request_timeout: String,
    /// Longest time a client may take to send a request body; past it the
    /// client gets a 400 naming `body` and the connection is closed.
    #[arg(long, env = "SIGIL_BODY_TIMEOUT", default_value = "10s")]
    pub body_timeout: String,
    /// After SIGTERM/ctrl-c, how long requests in flight may finish before
    /// the server exits anyway.
    #[arg(long, env = "SIGIL_SHUTDOWN_TIMEOUT", default_value = "10s")]
    pub shutdown_timeout: String,
    /// Log as JSON lines.
    #[arg(long, env = "SIGIL_LOG_JSON")]
    pub log_json: bool,
    /// Optional TOML-free config file of KEY=VALUE lines (SIGIL_* names), read
    /// before flags and the environment take effect.
    #[arg(long, env = "SIGIL_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Loads the optional config file (`--config PATH` or `SIGIL_CONFIG`): lines of
/// `SIGIL_NAME=value`, `#` comments. A value is taken only where the
/// environment has none, so flags > environment > file. Call before parsing flags.
pub fn preload_config_file() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let from_args = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--config=").map(str::to_string))
        });
    let Some(path) = from_args.or_else(|| std::env::var("SIGIL_CONFIG").ok()) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {path}: {e}"))?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            anyhow::bail!("{path}:{}: expected SIGIL_NAME=value", n + 1);
        };
        let (k, v) = (k.trim(), v.trim().trim_matches('"'));
        if !k.starts_with("SIGIL_") {
            anyhow::bail!("{path}:{}: {k} is not a SIGIL_* setting", n + 1);
        }
        if std::env::var_os(k).is_none() {
            // Single-threaded at this point: nothing else reads the environment yet.
            std::env::set_var(k, v);
        }
    }
    Ok(())
}
