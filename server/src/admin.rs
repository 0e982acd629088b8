//! `sigil admin …`: commands run on the server host, against its database
//! with its master key, not through the API. Today: `owner-token`, the way
//! back in once the bootstrap owner token expired or was lost.
//!
//! On SQLite it takes the data dir's lock (`sigil.lock`), as `sigil server`
//! does: it runs while the server is stopped, and a running server makes it
//! refuse, naming that server. (Writing beside a live server would work for
//! SQLite itself, but the server's lock is its promise to be the data dir's
//! only writer; stopping it for a recovery costs seconds.) On PostgreSQL it
//! runs beside live replicas, as one more of them would.

use crate::clock::Clock;
use crate::domain::keys::MasterKey;
use crate::state::{AppState, Settings};
use crate::store::data_dir::{DataDirLock, DB_FILE};
use crate::store::{self, Store};
use anyhow::Context;
use sigil_cli::context::{GlobalArgs, Output};
use sigil_proto::duration::parse_duration_for;
use std::path::PathBuf;
use std::process::ExitCode;

/// The `sigil admin` commands.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Issue a short-lived token for the org's owner (owner@sigil.local, re-created if deleted).
    #[command(after_help = "\
Examples:
  # SQLite: stop the server first; the token is printed once, on stdout
  sigil admin owner-token --data-dir /var/lib/sigil > owner.jwt

  # PostgreSQL, master key from the environment, 30 minutes, as JSON
  SIGIL_MASTER_KEY=$(cat master.key) sigil admin owner-token \\
      --database-url postgres://sigil@db/sigil --expiry 30m -o json

Audit-logged as `owner.recover` by `system`. Takes the same SIGIL_* settings
(and --config file) as `sigil server`.")]
    OwnerToken(OwnerTokenArgs),
}

/// Where the database and the master key are: the flags of `sigil server`.
#[derive(Debug, Clone, clap::Args)]
pub struct OwnerTokenArgs {
    /// Directory of the SQLite database and the master key (as `sigil server --data-dir`).
    #[arg(long, env = "SIGIL_DATA_DIR", default_value = "sigil-data")]
    pub data_dir: PathBuf,
    /// Database URL (`postgres://…`). Default: SQLite in --data-dir.
    #[arg(long, env = "SIGIL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// File with the master key. Default: SIGIL_MASTER_KEY, else <data-dir>/master.key.
    #[arg(long, env = "SIGIL_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The server's `iss` (as `sigil server --issuer`).
    #[arg(long, env = "SIGIL_ISSUER", default_value = "sigil")]
    pub issuer: String,
    /// Longest lifetime of a human user's token (as `sigil server`); caps --expiry.
    #[arg(long, env = "SIGIL_MAX_USER_TOKEN_LIFETIME", default_value = "24h")]
    pub max_user_token_lifetime: String,
    /// Lifetime of the token (at most --max-user-token-lifetime).
    #[arg(short = 'e', long, default_value = "1h", allow_hyphen_values = true)]
    pub expiry: String,
}

/// Runs `sigil admin …`; `global` gives `--org` and `-o`.
pub fn main(command: AdminCommand, global: &GlobalArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = match command {
        AdminCommand::OwnerToken(args) => rt.block_on(owner_token(args, global)),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The master key, never generated: SIGIL_MASTER_KEY, else
/// --master-key-file, else <data-dir>/master.key.
fn master_key(args: &OwnerTokenArgs) -> anyhow::Result<MasterKey> {
    if let Ok(v) = std::env::var("SIGIL_MASTER_KEY") {
        return MasterKey::from_base64(&v).context("SIGIL_MASTER_KEY");
    }
    let path = match &args.master_key_file {
        Some(p) => p.clone(),
        None => args.data_dir.join("master.key"),
    };
    Ok(MasterKey::load_or_create(&path, false)?)
}

async fn owner_token(args: OwnerTokenArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let cap = parse_duration_for("max-user-token-lifetime", &args.max_user_token_lifetime)?;
    let lifetime = parse_duration_for("expiry", &args.expiry)?;
    if lifetime <= 0 {
        anyhow::bail!("--expiry must be positive, got {}", args.expiry);
    }
    if lifetime > cap {
        anyhow::bail!(
            "--expiry {} is longer than a human user's token may live ({}, --max-user-token-lifetime)",
            args.expiry,
            args.max_user_token_lifetime
        );
    }
    let mut _lock = None;
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            let dir = &args.data_dir;
            let db = dir.join(DB_FILE);
            if !db.is_file() {
                anyhow::bail!(
                    "no database at {}: give the --data-dir (or --database-url) of the server",
                    db.display()
                );
            }
            _lock = Some(DataDirLock::acquire(dir).context(
                "on SQLite, stop the server before `sigil admin owner-token`, then start it again",
            )?);
            format!("sqlite://{}?mode=rw", db.display())
        }
    };
    let master = master_key(&args)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", store::redact_url(&url)))?;
    {
        let mut c = store.pool.acquire().await?;
        if store::count_orgs(&mut c).await? == 0 {
            anyhow::bail!(
                "the database {} was never bootstrapped: start `sigil server` on it first",
                store.url_redacted
            );
        }
    }
    let settings = Settings {
        issuer: args.issuer.clone(),
        max_user_token_lifetime: cap,
        ..Settings::default()
    };
    let org = global
        .org
        .clone()
        .unwrap_or_else(|| settings.root_org.clone());
    let state = AppState::new(store, master, Clock::system(), settings).await?;
    let got = crate::ops::recovery::owner_token(&state, &org, lifetime).await?;
    let expires = time::OffsetDateTime::from_unix_timestamp(got.row.expires_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    if got.recreated {
        eprintln!(
            "note: the owner user {} was deleted; it was created again with `*:*:*`",
            got.row.owner_name
        );
    }
    if got.restored {
        eprintln!(
            "note: the owner user {} holds `*:*:*` again",
            got.row.owner_name
        );
    }
    eprintln!(
        "owner token for {} in org {}, id {}, expires {expires} (audit-logged as owner.recover; \
         shown once, it cannot be shown again):",
        got.row.owner_name, got.row.org_name, got.row.id
    );
    match global.output {
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "token": got.token.expose(),
                "id": got.row.id,
                "org": got.row.org_name,
                "owner": got.row.owner_name,
                "expires_at": expires,
            })
        ),
        Output::Table => println!("{}", got.token.expose()),
    }
    Ok(())
}
