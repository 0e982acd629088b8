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
    init_tracing(args.log_json);
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

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
        trust_forwarded_for: args.trust_forwarded_for,
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
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            std::fs::create_dir_all(&args.data_dir)
                .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
            format!(
                "sqlite://{}?mode=rwc",
                args.data_dir.join("sigil.db").display()
            )
        }
    };
    let master = master_key(&args)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", store::redact_url(&url)))?;
    tracing::info!(database = %store.url_redacted, "database ready");
    let state = AppState::new(store, master, Clock::system(), settings).await?;
    let lifetime = parse_duration_for("bootstrap-token-lifetime", &args.bootstrap_token_lifetime)?;
    if let Some(token) = bootstrap(&state, state.settings.root_org.clone(), lifetime).await? {
        announce_bootstrap(&args, &token)?;
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
    spawn_janitor(state.clone());
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
    // gRPC is also answered on the REST port (by content-type).
    let app = crate::grpc::with_rest(crate::http::app(state.clone()), grpc_routes);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop_rx))
    .await?;
    if let Some(t) = grpc_task {
        t.await??;
    }
    tracing::info!("shut down");
    Ok(())
}

/// Drops expired Idempotency-Key answers (sealed JWTs) hourly, so none rests
/// past its 24h window even when no further keyed issue comes along.
fn spawn_janitor(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let before = state.now() - crate::ops::tokens::IDEMPOTENCY_WINDOW;
            if let Err(e) = store::expire_idempotent(&state.store.pool, before).await {
                tracing::warn!("expiring idempotency keys failed: {e}");
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
