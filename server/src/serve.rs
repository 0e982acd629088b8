//! `sigil server`: open the database, load keys, bootstrap, serve until a signal.

use crate::clock::Clock;
use crate::config::ServerArgs;
use crate::domain::keys::{write_private_file, MasterKey};
use crate::state::{AppState, Settings};
use crate::store::{self, Store};
use anyhow::Context;
use sigil_proto::duration::parse_duration_for;
use sigil_proto::SecretString;
use std::net::SocketAddr;
use std::process::ExitCode;

pub fn main(args: ServerArgs) -> ExitCode {
    // Dropped when `main` returns, after the runtime has stopped: the log
    // lines still queued are written then.
    let _log_guard = init_tracing(args.log_json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr (JSON with `--log-json`) through a background writer
/// thread: a request never waits on the terminal or a pipe. Lines are queued
/// (up to 128k) and never dropped — past that a logging thread waits, which
/// is the back-pressure of a log consumer that cannot keep up. The returned
/// guard flushes the queue when dropped, at shutdown.
fn init_tracing(json: bool) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("sigil-log")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_colour())
        .with_writer(writer);
    let installed = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    installed.is_ok().then_some(guard)
}

/// Colour in the logs only on a terminal, and never with `NO_COLOR` set
/// (<https://no-color.org>) or `TERM=dumb`: piped into a file or a log
/// collector, escape codes are noise.
fn log_colour() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    std::io::stderr().is_terminal() && !no_color && !dumb
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

/// The master key: SIGIL_MASTER_KEY, else --master-key-file, else <data-dir>/master.key (generated).
fn master_key(args: &ServerArgs) -> anyhow::Result<MasterKey> {
    if let Ok(v) = std::env::var("SIGIL_MASTER_KEY") {
        return MasterKey::from_base64(&v).context("SIGIL_MASTER_KEY");
    }
    match &args.master_key_file {
        Some(p) => Ok(MasterKey::load_or_create(p, false)?),
        None => Ok(MasterKey::load_or_create(
            &args.data_dir.join("master.key"),
            true,
        )?),
    }
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let settings = settings(&args)?;
    let timeouts = Timeouts::from_args(&args)?;
    // Held until `run` returns: the data dir is this process's alone.
    let mut _lock = None;
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            let dir = &args.data_dir;
            private_dir(dir)
                .with_context(|| format!("cannot create data dir {}", dir.display()))?;
            _lock = Some(DataDirLock::acquire(dir)?);
            let db = dir.join(DB_FILE);
            check_sqlite_file(dir, &db)?;
            format!("sqlite://{}?mode=rwc", db.display())
        }
    };
    let master = master_key(&args)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", store::redact_url(&url)))?;
    tracing::info!(database = %store.url_redacted, "database ready");
    if args.database_url.is_none() {
        check_not_emptied(&store, &args.data_dir).await?;
    }
    let state = AppState::new(store, master, Clock::system(), settings).await?;
    let lifetime = parse_duration_for("bootstrap-token-lifetime", &args.bootstrap_token_lifetime)?;
    if let Some(token) = bootstrap(&state, state.settings.root_org.clone(), lifetime).await? {
        announce_bootstrap(&args, &token)?;
    }
    if args.database_url.is_none() {
        mark_initialized(&args.data_dir)?;
    }

    // One stop signal for both servers and for long-lived gRPC streams, which
    // would otherwise keep a graceful shutdown waiting forever.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    crate::replication::spawn(state.clone(), url.clone());
    // Renews the lease (memory answers only under it) and flushes last uses;
    // on stop, flushes once more and gives the lease up.
    let lease_task = crate::lease::spawn(state.clone(), stop_rx.clone());
    spawn_janitor(state.clone());
    // Webhook deliveries after commit, and expiry warnings: on every replica,
    // each event delivered by one (see `crate::delivery`, `crate::expiry`).
    crate::delivery::spawn(state.clone());
    crate::expiry::spawn(state.clone());
    let grpc_routes = crate::grpc::routes(state.clone(), stop_rx.clone()).await?;
    let grpc_task = match args.grpc_listen {
        Some(grpc_addr) => {
            let l = tokio::net::TcpListener::bind(grpc_addr)
                .await
                .with_context(|| format!("cannot listen on {grpc_addr} (--grpc-listen)"))?;
            eprintln!("grpc listening on http://{}", l.local_addr()?);
            Some(tokio::spawn(crate::grpc::serve(
                grpc_routes.clone(),
                l,
                stopped(stop_rx.clone()),
            )))
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    eprintln!("listening on http://{addr}");
    eprintln!("  point the CLI and Terraform at it: export SIGIL_ENDPOINT=http://{addr}");
    // gRPC is also answered on the REST port (by content-type); REST requests
    // (not the long-lived gRPC streams) are bounded in time.
    let rest = crate::http::app(state.clone()).layer(axum::middleware::from_fn_with_state(
        timeouts,
        bound_request,
    ));
    let app = crate::grpc::with_rest(rest, grpc_routes);
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop_rx.clone()));
    // Graceful, but bounded: past --shutdown-timeout after the signal, the
    // requests still in flight are dropped and the process exits.
    let grace = timeouts.shutdown;
    let deadline = async move {
        stopped(stop_rx).await;
        tokio::time::sleep(grace).await;
    };
    // Past the bound, the gRPC server and the lease task get a moment only.
    let late = tokio::select! {
        r = async move { serving.await } => { r?; false }
        () = deadline => {
            tracing::warn!("requests still in flight {grace:?} after the stop signal; exiting anyway");
            true
        }
    };
    let rest_of = |bound| {
        if late {
            std::time::Duration::from_secs(1).min(bound)
        } else {
            bound
        }
    };
    // Leak reports answered but not yet processed (the queue is in memory):
    // processed before exiting, within the same bound.
    if tokio::time::timeout(rest_of(grace), crate::ops::leaks::settle(&state))
        .await
        .is_err()
    {
        tracing::warn!("leak reports still queued {grace:?} after the stop signal; exiting anyway");
    }
    if let Some(t) = grpc_task {
        match tokio::time::timeout(rest_of(grace), t).await {
            Ok(r) => r??,
            Err(_) => {
                tracing::warn!("gRPC still serving {grace:?} after the stop signal; exiting anyway")
            }
        }
    }
    let _ = tokio::time::timeout(rest_of(grace), lease_task).await;
    tracing::info!("shut down");
    Ok(())
}

// ---------- timeouts ----------

/// How long a REST request, its body, and a graceful shutdown may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub request: std::time::Duration,
    pub body: std::time::Duration,
    pub shutdown: std::time::Duration,
}

impl Timeouts {
    fn from_args(args: &ServerArgs) -> anyhow::Result<Self> {
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

/// Bodies larger than this are not read (413; the routes refuse 2 MB and up anyway).
const MAX_BODY: usize = 4 << 20;

/// Reads the body within `body` (a client that stalls gets a 400 naming
/// `body`, and its connection is closed), then runs the request within
/// `request` (past it: 503 `unavailable`, retry). Both answers are in the
/// API's error shape; a request dropped on time-out rolls its transaction back.
async fn bound_request(
    axum::extract::State(t): axum::extract::State<Timeouts>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::error::ApiError;
    use axum::response::IntoResponse;
    use sigil_proto::ErrorCode;
    let start = tokio::time::Instant::now();
    let (parts, body) = req.into_parts();
    tracing::trace!(path = parts.uri.path(), "reading the request body");
    let bytes = match tokio::time::timeout(t.body, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(b)) => b,
        // Over the limit: the 413 the routes answer; else the body broke off.
        Ok(Err(e)) if e.to_string().contains("length limit") => {
            return crate::http::too_large().into_response()
        }
        Ok(Err(e)) => {
            return ApiError::invalid("body", format!("cannot read the body: {e}")).into_response()
        }
        Err(_) => {
            let mut r = ApiError::invalid(
                "body",
                format!("the request body did not arrive within {:?}", t.body),
            )
            .into_response();
            r.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return r;
        }
    };
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let left = t.request.saturating_sub(start.elapsed());
    match tokio::time::timeout(left, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!("a request took longer than {:?}; answered 503", t.request);
            ApiError::new(
                ErrorCode::Unavailable,
                format!("the request did not complete within {:?}; retry", t.request),
            )
            .into_response()
        }
    }
}

// ---------- the SQLite data dir ----------

/// The database file in the data dir.
pub const DB_FILE: &str = "sigil.db";
/// The lock file: held (flock) by the server that owns the data dir.
pub const LOCK_FILE: &str = "sigil.lock";
/// Written once the data dir holds a bootstrapped database: from then on, an
/// empty or missing database is a loss, never a first start.
pub const INITIALIZED_FILE: &str = "initialized";

/// Creates `dir` (and parents) and makes it 0700.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        b.mode(0o700);
        b.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    b.create(dir)
}

/// Opens (creating) a file 0600; an existing one is made 0600 too.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    o.open(path)
}

/// An advisory lock (`flock`, through std's `File::try_lock`) on
/// `<data-dir>/sigil.lock`, held for the life of the process. The kernel
/// drops it when the process dies, even by kill -9, so a stale lock never
/// blocks a restart. The file names the holder (pid, start time).
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(dir: &std::path::Path) -> anyhow::Result<Self> {
        use std::io::{Read, Seek, Write};
        let path = dir.join(LOCK_FILE);
        let mut f = private_file(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                let holder = holder.trim();
                anyhow::bail!(
                    "the data dir {} is in use by another sigil server ({}); \
                     one server per SQLite data dir: stop that one, or use another --data-dir \
                     (or PostgreSQL, which replicas may share)",
                    dir.display(),
                    if holder.is_empty() {
                        "holder unknown"
                    } else {
                        holder
                    }
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        let started = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        f.set_len(0)?;
        f.rewind()?;
        writeln!(f, "pid {}, started {started}", std::process::id())?;
        f.sync_all()?;
        Ok(Self { _file: f })
    }
}

/// Before the database is opened: a file that is not SQLite stops the start,
/// and so does an empty or missing one where data was expected. A truly new
/// data dir (no `initialized` marker) goes on to bootstrap.
/// The database file is created 0600 here (SQLite gives `-wal` and `-shm`
/// the mode of the database file); existing ones are made 0600.
fn check_sqlite_file(dir: &std::path::Path, db: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Read;
    // Not the master key: a first start that failed after generating it has
    // no data to lose. The marker is written only once bootstrap succeeded.
    let expected = dir.join(INITIALIZED_FILE).exists();
    let len = std::fs::metadata(db).map(|m| m.len()).ok();
    let recover = "restore it from a backup, or start on a new --data-dir; it is never \
                   bootstrapped afresh over data that was there";
    match len {
        None | Some(0) if expected => anyhow::bail!(
            "the database {} is {} but this data dir held a server before; {recover}",
            db.display(),
            if len.is_none() { "missing" } else { "empty" },
        ),
        _ => {}
    }
    let mut f = private_file(db).with_context(|| format!("cannot open {}", db.display()))?;
    for side in ["-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{side}", db.display()));
        if p.exists() {
            private_file(&p).with_context(|| format!("cannot open {}", p.display()))?;
        }
    }
    if len.unwrap_or(0) > 0 {
        let mut head = [0u8; 16];
        let n = f.read(&mut head).unwrap_or(0);
        if n < 16 || &head != b"SQLite format 3\0" {
            anyhow::bail!(
                "the database {} is damaged: it is not a SQLite database (overwritten?); {recover}",
                db.display()
            );
        }
    }
    Ok(())
}

/// After the database is opened: no org where data was expected means the
/// database was emptied (or replaced by a new one).
async fn check_not_emptied(store: &Store, dir: &std::path::Path) -> anyhow::Result<()> {
    if !dir.join(INITIALIZED_FILE).exists() {
        return Ok(());
    }
    let mut c = store.pool.acquire().await?;
    if store::count_orgs(&mut c).await? == 0 {
        anyhow::bail!(
            "the database {} holds no data, but this data dir held a server before; \
             restore it from a backup, or start on a new --data-dir",
            dir.join(DB_FILE).display()
        );
    }
    Ok(())
}

/// Records that the data dir now holds a bootstrapped database.
fn mark_initialized(dir: &std::path::Path) -> anyhow::Result<()> {
    let p = dir.join(INITIALIZED_FILE);
    if !p.exists() {
        write_private_file(
            &p,
            b"sigil data dir: an empty database here is a loss, not a first start\n",
        )
        .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// Drops expired Idempotency-Key answers (sealed JWTs) hourly, so none rests
/// past its 24h window even when no further keyed issue comes along; and
/// webhook events and delivery logs past 30 days.
fn spawn_janitor(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let before = state.now() - crate::ops::tokens::IDEMPOTENCY_WINDOW;
            if let Err(e) = store::expire_idempotent(&state.store.pool, before).await {
                tracing::warn!("expiring idempotency keys failed: {e}");
            }
            let before = state.now() - store::DELIVERY_LOG_RETENTION;
            if let Err(e) = store::prune_deliveries(&state.store.pool, before).await {
                tracing::warn!("pruning the webhook delivery log failed: {e}");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn announce_bootstrap(args: &ServerArgs, token: &SecretString) -> anyhow::Result<()> {
    match &args.bootstrap_token_file {
        Some(path) => {
            write_private_file(path, format!("{}\n", token.expose()).as_bytes()).with_context(
                || format!("cannot write the bootstrap token to {}", path.display()),
            )?;
            eprintln!(
                "bootstrap owner token written to {} (mode 0600)",
                path.display()
            );
        }
        None => {
            // Printed once, on stdout, never through the logger.
            eprintln!("bootstrap owner token (shown once; it cannot be shown again):");
            println!("{}", token.expose());
        }
    }
    Ok(())
}

pub use crate::ops::bootstrap::{bootstrap, OWNER_EMAIL};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn app(t: Timeouts) -> axum::Router {
        axum::Router::new()
            .route(
                "/slow",
                axum::routing::post(|body: String| async move {
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    body
                }),
            )
            .route(
                "/echo",
                axum::routing::post(|body: String| async move { body }),
            )
            .layer(axum::middleware::from_fn_with_state(t, bound_request))
    }

    const T: Timeouts = Timeouts {
        request: std::time::Duration::from_millis(300),
        body: std::time::Duration::from_millis(100),
        shutdown: std::time::Duration::from_millis(100),
    };

    async fn answer(r: axum::response::Response) -> (StatusCode, serde_json::Value) {
        let s = r.status();
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (
            s,
            serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn a_stalled_body_is_400_naming_body() {
        let never = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let req = Request::post("/echo")
            .body(Body::from_stream(never))
            .unwrap();
        let r = app(T).oneshot(req).await.unwrap();
        assert_eq!(r.headers()["connection"], "close");
        let (s, v) = answer(r).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["error"]["field"], "body");
    }

    #[tokio::test]
    async fn a_body_over_the_bound_is_413() {
        let req = Request::post("/echo")
            .body(Body::from(vec![b'x'; MAX_BODY + 1]))
            .unwrap();
        let (s, v) = answer(app(T).oneshot(req).await.unwrap()).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(v["error"]["field"], "body");
    }

    #[tokio::test]
    async fn a_slow_request_is_503_unavailable() {
        let req = Request::post("/slow").body(Body::from("x")).unwrap();
        let (s, v) = answer(app(T).oneshot(req).await.unwrap()).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(v["error"]["code"], "unavailable");
    }

    #[tokio::test]
    async fn a_prompt_request_passes_its_body_through() {
        let req = Request::post("/echo").body(Body::from("hello")).unwrap();
        let r = app(T).oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&b[..], b"hello");
    }

    #[test]
    fn the_lock_is_exclusive_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        let e = DataDirLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(
            e.contains(&format!("(pid {}, started ", std::process::id())),
            "{e}"
        );
        drop(held);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
