//! Helpers for end-to-end tests: locate the built binaries, start a real
//! `sigil server` process on a free port, and talk to it.
//!
//! The binaries are built by the test command (`cargo build --workspace --bins`)
//! before the tests run; they are looked up in `CARGO_TARGET_DIR` (or the
//! workspace's `target/`) under `debug/`.
//!
//! # Layout
//!
//! - here: the binaries, [`TestServer`] and its [`ServerOptions`], fresh
//!   PostgreSQL databases ([`PgDb`]), [`replicas`] of one database, the
//!   [`both!`] macro that runs a test body on SQLite and on PostgreSQL;
//! - [`cli`]: the real `sigil` CLI with a clean environment, and the checks
//!   every run must pass;
//! - [`terraform`]: real `terraform` with the built provider installed;
//! - [`grpc`]: the gRPC verification API;
//! - [`receiver`]: an HTTP receiver in the test process, for webhooks.

// Test support: a failed expectation here is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
pub mod grpc;
pub mod receiver;
pub mod terraform;

use sigil_proto::api::CreateBot;
use sigil_proto::client::Client;
use sigil_proto::SecretString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `<target>/debug/<name>`; panics with a hint when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        workspace().join(target)
    };
    let p = target.join("debug").join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        p.display()
    );
    p
}

/// A shared master key for replicas of one database (base64 of 32 bytes).
pub const MASTER_KEY: &str = "c2lnaWwtdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=";

/// A runtime for a test's async part: two workers, as the machine has.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A single-threaded runtime, for tests that only wait on one thing at a time.
pub fn rt1() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The `sigil` binary.
pub fn sigil_bin() -> PathBuf {
    bin("sigil")
}

/// The Terraform provider binary.
pub fn provider_bin() -> PathBuf {
    bin("terraform-provider-sigil")
}

/// PostgreSQL admin URL for tests (`SIGIL_TEST_PG`), default the local server.
pub fn pg_admin_url() -> String {
    std::env::var("SIGIL_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A running `sigil server` process; killed on drop.
pub struct TestServer {
    pub endpoint: String,
    /// `http://ADDR` of the gRPC API when started with `--grpc-listen`.
    pub grpc_endpoint: Option<String>,
    pub owner_token: SecretString,
    pub data_dir: tempfile::TempDir,
    pub child: Child,
    /// Lines the server printed on stderr so far are appended here by a thread.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// How to start a server.
#[derive(Default, Clone)]
pub struct ServerOptions {
    /// `--database-url`; SQLite in the temp data dir when None.
    pub database_url: Option<String>,
    /// Extra flags.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Reuse this data dir (and its master key) instead of a fresh one.
    pub data_dir: Option<PathBuf>,
}

impl ServerOptions {
    /// On `database_url` (SQLite in the data dir when None) with the shared
    /// [`MASTER_KEY`], so that replicas of one database can read each other's secrets.
    pub fn replica(database_url: Option<String>) -> ServerOptions {
        ServerOptions {
            database_url,
            env: vec![("SIGIL_MASTER_KEY".into(), MASTER_KEY.into())],
            ..Default::default()
        }
    }

    /// Also serves the gRPC API, on a free port ([`TestServer::grpc_endpoint`]).
    pub fn with_grpc(mut self) -> ServerOptions {
        self.args
            .extend(["--grpc-listen".to_string(), "127.0.0.1:0".to_string()]);
        self
    }
}

/// Two replicas on one fresh PostgreSQL database, with the gRPC API when
/// `grpc`; A started first and bootstrapped it.
pub fn replicas(grpc: bool) -> (PgDb, TestServer, TestServer) {
    let db = PgDb::create();
    let opts = || {
        let o = ServerOptions::replica(Some(db.url.clone()));
        if grpc {
            o.with_grpc()
        } else {
            o
        }
    };
    let a = TestServer::start_with(opts());
    let b = TestServer::start_with(opts());
    (db, a, b)
}

/// `$body(&TestServer)` as two tests, `$body::sqlite` and `$body::postgres`
/// (on a fresh database of `SIGIL_TEST_PG`).
#[macro_export]
macro_rules! both {
    ($body:ident) => {
        mod $body {
            #[test]
            fn sqlite() {
                super::$body(&$crate::TestServer::start());
            }

            #[test]
            fn postgres() {
                let (_db, srv) = $crate::TestServer::start_on_postgres();
                super::$body(&srv);
            }
        }
    };
}

/// Polls `probe` every 50 ms until it gives `Some`, for at most `bound`.
pub fn within<T>(bound: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Creates bot `name` with `permissions` in org `default`, through `client`.
pub async fn create_bot(client: &Client, name: &str, permissions: &[&str]) {
    client
        .create_bot(
            "default",
            &CreateBot {
                username: name.into(),
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
                ..Default::default()
            },
        )
        .await
        .expect("create bot");
}

impl TestServer {
    /// A fresh server on a fresh PostgreSQL database (dropped with the [`PgDb`]).
    pub fn start_on_postgres() -> (PgDb, TestServer) {
        let db = PgDb::create();
        let srv = TestServer::start_with(ServerOptions {
            database_url: Some(db.url.clone()),
            ..Default::default()
        });
        (db, srv)
    }

    /// A fresh server on SQLite.
    pub fn start() -> TestServer {
        Self::start_with(ServerOptions::default())
    }

    pub fn start_with(opts: ServerOptions) -> TestServer {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let dir = opts
            .data_dir
            .clone()
            .unwrap_or_else(|| data_dir.path().to_path_buf());
        let token_file = data_dir.path().join("owner.jwt");
        let mut cmd = Command::new(sigil_bin());
        cmd.arg("server")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&dir)
            .arg("--bootstrap-token-file")
            .arg(&token_file)
            .args(&opts.args)
            .env_remove("SIGIL_MASTER_KEY")
            .env_remove("SIGIL_DATABASE_URL")
            .env("SIGIL_LOG", "info")
            .env("SIGIL_AUTH_FAILURES_PER_MINUTE", "100000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = &opts.database_url {
            cmd.arg("--database-url").arg(url);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn sigil server");
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        let _ = tx.send(addr.trim().to_string());
                    }
                    log.lock().expect("log").push(line);
                }
            });
        }
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    log.lock().expect("log").push(line);
                }
            });
        }
        let endpoint = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(e) => e,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not start; its log:\n{}",
                    log.lock().expect("log").join("\n")
                );
            }
        };
        // Printed before the REST line, so already in the log.
        let grpc_endpoint = log.lock().expect("log").iter().find_map(|l| {
            l.strip_prefix("grpc listening on ")
                .map(|a| a.trim().to_string())
        });
        let owner_token = std::fs::read_to_string(&token_file)
            .map(|t| SecretString::new(t.trim()))
            .unwrap_or_default();
        TestServer {
            endpoint,
            grpc_endpoint,
            owner_token,
            data_dir,
            child,
            log,
        }
    }

    /// A client with the owner token.
    pub fn client(&self) -> Client {
        Client::new(&self.endpoint, Some(self.owner_token.clone())).expect("client")
    }

    /// A client with another token.
    pub fn client_with(&self, token: &SecretString) -> Client {
        Client::new(&self.endpoint, Some(token.clone())).expect("client")
    }

    /// Everything the server logged so far.
    pub fn logs(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// Waits until `pred` holds for the log, or panics after `timeout`.
    pub fn wait_for_log(&self, pred: impl Fn(&str) -> bool, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if pred(&self.logs()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "log condition not met in {timeout:?}; log:\n{}",
            self.logs()
        );
    }

    /// Stops the server with SIGTERM-like kill and waits for it.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.data_dir, dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty PostgreSQL database; dropped (best effort) by [`PgDb::drop`].
pub struct PgDb {
    pub url: String,
    name: String,
}

impl PgDb {
    /// Creates `sigil_e2e_<random>` with `psql` against [`pg_admin_url`].
    pub fn create() -> PgDb {
        let name = format!("sigil_e2e_{}", uuid::Uuid::new_v4().simple());
        let admin = pg_admin_url();
        let out = Command::new("psql")
            .arg(&admin)
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg("-c")
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("run psql (PostgreSQL client)");
        assert!(
            out.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin);
        PgDb {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(pg_admin_url())
            .arg("-c")
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// What a `sigil server` that was expected to refuse to start did.
pub struct Refusal {
    /// Whether it exited within the bound (and not with success).
    pub failed: bool,
    /// Its stderr and stdout.
    pub output: String,
    /// How long it ran.
    pub took: Duration,
}

/// Runs `sigil server --listen 127.0.0.1:0` with `args` and waits up to
/// `bound` for it to exit; kills it past the bound (then `failed` is false).
pub fn start_refused(args: &[&str], bound: Duration) -> Refusal {
    // In a scratch directory: whatever the server creates by default (the
    // data dir, its master key) must not land in the source tree.
    let cwd = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(sigil_bin())
        .current_dir(cwd.path())
        .arg("server")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(args)
        .env_remove("SIGIL_MASTER_KEY")
        .env_remove("SIGIL_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sigil server");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let out = child.wait_with_output().expect("output");
    Refusal {
        failed: status.is_some_and(|s| !s.success()),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ),
        took,
    }
}

impl TestServer {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `bound` for the process to exit;
    /// answers how long it took, or None when it did not exit (then it is killed).
    pub fn terminate_within(&mut self, bound: Duration) -> Option<Duration> {
        let start = Instant::now();
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM failed");
        while start.elapsed() < bound {
            if self.child.try_wait().expect("wait").is_some() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// kill -9, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs SQL on the admin connection with `psql`; answers stdout.
pub fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .arg(pg_admin_url())
        .arg("-tAc")
        .arg(sql)
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl PgDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
