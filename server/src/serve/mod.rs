//! `sigil server`: open the database, load keys, bootstrap, start the jobs,
//! serve until a signal ([`run`]); then stop in order (`shutdown.rs`). The
//! flags and settings are [`crate::config`]; the request-time bound is the
//! middleware in [`timeouts`]; the data dir's lock and checks are
//! [`crate::store::data_dir`]; the background jobs are [`crate::jobs`].

mod shutdown;
pub mod timeouts;

use crate::clock::Clock;
use crate::config::{ServerArgs, Timeouts};
use crate::domain::keys::{write_private_file, MasterKey};
use crate::state::AppState;
use crate::store::data_dir::{self, DataDirLock};
use crate::store::{self, Store};
use anyhow::Context;
use shutdown::shutdown_signal;
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
    let settings = crate::config::settings(&args)?;
    let timeouts = Timeouts::from_args(&args)?;
    // Held until `run` returns: the data dir is this process's alone.
    let mut _lock = None;
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            let dir = &args.data_dir;
            data_dir::private_dir(dir)
                .with_context(|| format!("cannot create data dir {}", dir.display()))?;
            _lock = Some(DataDirLock::acquire(dir)?);
            let db = dir.join(data_dir::DB_FILE);
            data_dir::check_sqlite_file(dir, &db)?;
            format!("sqlite://{}?mode=rwc", db.display())
        }
    };
    let master = master_key(&args)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", store::redact_url(&url)))?;
    tracing::info!(database = %store.url_redacted, "database ready");
    if args.database_url.is_none() {
        data_dir::check_not_emptied(&store, &args.data_dir).await?;
    }
    data_dir::check_database_not_emptied(&store).await?;
    let state = AppState::new(store, master, Clock::system(), settings).await?;
    let lifetime = parse_duration_for("bootstrap-token-lifetime", &args.bootstrap_token_lifetime)?;
    if let Some(token) = bootstrap(&state, state.settings.root_org.clone(), lifetime).await? {
        announce_bootstrap(&args, &token)?;
    }
    data_dir::mark_database_initialized(&state.store, state.clock.now()).await?;
    if args.database_url.is_none() {
        data_dir::mark_initialized(&args.data_dir)?;
    }

    // The servers' stop signal, for both servers and for long-lived gRPC
    // streams, which would otherwise keep a graceful shutdown waiting
    // forever. The jobs hear theirs once the servers stopped (`shutdown`).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (signalled_tx, signalled) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signalled_tx.send(tokio::time::Instant::now());
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let (grpc_routes, grpc_health) = crate::grpc::routes(state.clone(), stop_rx.clone()).await?;
    let jobs = crate::jobs::start(&state, &url, grpc_health);
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

    if let Some(metrics_addr) = args.metrics_listen {
        let l = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr} (--metrics-listen)"))?;
        eprintln!("metrics listening on http://{}/metrics", l.local_addr()?);
        let app = crate::http::metrics_app(state.clone());
        let stop = stopped(stop_rx.clone());
        // Ends with the other servers; nothing in flight there needs waiting for.
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, app).with_graceful_shutdown(stop).await {
                tracing::error!("metrics listener failed: {e}");
            }
        });
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    eprintln!("listening on http://{addr}");
    eprintln!("  point the CLI and Terraform at it: export SIGIL_ENDPOINT=http://{addr}");
    // gRPC is also answered on the REST port (by content-type); REST requests
    // (not the long-lived gRPC streams) are bounded in time.
    let rest = crate::http::app_with(state.clone(), args.metrics_listen.is_none()).layer(
        axum::middleware::from_fn_with_state(timeouts, timeouts::bound_request),
    );
    let app = crate::grpc::with_rest(rest, grpc_routes);
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop_rx.clone()));
    shutdown::run(serving, grpc_task, jobs, signalled, timeouts.shutdown).await?;
    Ok(())
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
