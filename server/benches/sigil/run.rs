//! The measurements of `benches/sigil`, shared with the smoke test (which
//! includes this file by path and runs it at a tiny scale).
//!
//! Load comes from an in-process generator: `conc` tasks, each on its own
//! HTTP/1.1 keep-alive connection to 127.0.0.1 (like `wrk -c`), sending until
//! a deadline or a request budget, recording each latency. The servers are
//! `sigil` processes (so memory is theirs alone); the bare axum server runs
//! on its own runtime in this process.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use anyhow::{anyhow, bail, Context};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use sqlx::Connection;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Config {
    /// Multiplies every count and duration (1 = the real run).
    pub scale: f64,
    /// Where the plot goes.
    pub svg: PathBuf,
    /// A PostgreSQL server URL whose database may be used to create others.
    pub pg: String,
    /// The `sigil` binary to measure.
    pub sigil: PathBuf,
    /// Print each line as it is measured.
    pub echo: bool,
}

pub fn pg_url() -> String {
    std::env::var("SIGIL_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Every line the bench prints, in order (the smoke test checks them all).
pub const LINES: &[&str] = &[
    "raw EdDSA verify, 1 thread",
    "raw EdDSA verify, N threads",
    "bare axum hello-world",
    "sigil GET /healthz",
    "sigil GET /v1/whoami",
    "sigil POST /v1/introspect",
    "sigil gRPC Verify",
    "issue, SQLite",
    "issue + Idempotency-Key, SQLite, 100k keys",
    "whoami p50 during keyed issue, SQLite",
    "issue, PostgreSQL",
    "issue + Idempotency-Key, PostgreSQL, 100k keys",
    "revoke p99, 2 replicas (PostgreSQL)",
    "revoke-to-refused p99, other replica",
    "accepted after revoke returned",
    "idle RSS",
    "loaded RSS (peak)",
    "GET tokens page p99, 1M tokens",
    "leak report p50, live token ÷ garbage",
];

/// One printed line: a figure, its ratios, its goal.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// e.g. "0.93× raw N · 0.41× axum".
    pub ratios: String,
    /// e.g. "≥ 1.0× raw N", empty when none.
    pub goal: String,
    pub holds: Option<bool>,
    /// The figure against its goal, 1.0 = just met, higher is better.
    pub score: Option<f64>,
    /// A rate (plotted) rather than a time or a size.
    pub rate: bool,
}

struct Report<'a> {
    cfg: &'a Config,
    rows: Vec<Row>,
}

impl Report<'_> {
    fn push(&mut self, row: Row) {
        if self.cfg.echo {
            println!("{}", format_row(&row));
            let _ = std::io::stdout().flush();
        }
        self.rows.push(row);
    }

    fn get(&self, name: &str) -> f64 {
        self.rows
            .iter()
            .find(|r| r.name == name)
            .map_or(f64::NAN, |r| r.value)
    }
}

pub fn format_row(r: &Row) -> String {
    let holds = match r.holds {
        Some(true) => "holds",
        Some(false) => "MISSED",
        None => "",
    };
    format!(
        "{:<48} {:>11} {:<5} {:<32} {:<28} {}",
        r.name,
        fmt_value(r.value),
        r.unit,
        r.ratios,
        r.goal,
        holds
    )
}

pub fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        let n = v.round() as u64;
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{v:.1}")
    }
}

/// How many of something at this scale (at least `min`).
fn n(cfg: &Config, full: f64, min: u64) -> u64 {
    ((full * cfg.scale) as u64).max(min)
}

fn secs(cfg: &Config, full: f64) -> Duration {
    Duration::from_secs_f64((full * cfg.scale).max(0.02))
}

/// Runs every measurement; prints and answers the rows, and writes the plot.
pub fn run(cfg: &Config) -> anyhow::Result<Vec<Row>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report = Report {
        cfg,
        rows: Vec::new(),
    };
    if cfg.echo {
        println!(
            "sigil bench: scale {}, {} cores, {}",
            cfg.scale,
            cores(),
            if cfg!(debug_assertions) {
                "debug build"
            } else {
                "release build"
            }
        );
        println!(
            "{:<48} {:>11} {:<5} {:<32} {:<28}",
            "what", "figure", "unit", "ratio", "goal"
        );
    }
    rt.block_on(all(cfg, &mut report))?;
    write_svg(&cfg.svg, &report.rows)?;
    Ok(report.rows)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

async fn all(cfg: &Config, r: &mut Report<'_>) -> anyhow::Result<()> {
    let conc = 32;
    let dur = secs(cfg, 3.0);

    // ---- SQLite server: verification paths, memory, issue, list ----
    let sq = Server::start(cfg, None, None)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = sq.rss_kb()?.0;

    let bot_token = setup_bot(&sq).await?;
    let jwks = get_json(sq.addr, "/.well-known/jwks.json", None).await?;
    let x = jwks["keys"][0]["x"]
        .as_str()
        .ok_or_else(|| anyhow!("no key in the JWKS: {jwks}"))?
        .to_string();

    // Raw verify: the same library and key the server uses.
    let per_thread = n(cfg, 40_000.0, 20);
    let raw1 = raw_verify(&bot_token, &x, 1, per_thread)?;
    let threads = cores();
    let raw_n = raw_verify(&bot_token, &x, threads, per_thread)?;
    r.push(rate_row(LINES[0], raw1, "", "", None));
    r.push(rate_row(
        LINES[1],
        raw_n,
        &format!("{:.2}× 1 thread ({threads} threads)", raw_n / raw1),
        "",
        None,
    ));

    // The HTTP floor.
    let hello = HelloServer::start()?;
    let axum = load(hello.addr, conc, dur, None, |_| get("/", None))
        .await?
        .rate;
    r.push(rate_row(
        LINES[2],
        axum,
        &format!("{:.2}× raw N", axum / raw_n),
        "",
        None,
    ));
    drop(hello);

    let health = load(sq.addr, conc, dur, None, |_| get("/healthz", None)).await?;
    r.push(rate_row(
        LINES[3],
        health.rate,
        &format!("{:.2}× axum", health.rate / axum),
        "",
        None,
    ));

    let bt = bot_token.clone();
    let whoami = load(sq.addr, conc, dur, Some(StatusCode::OK), move |_| {
        get("/v1/whoami", Some(&bt))
    })
    .await?;
    r.push(rate_row(
        LINES[4],
        whoami.rate,
        &format!(
            "{:.2}× raw N · {:.2}× axum",
            whoami.rate / raw_n,
            whoami.rate / axum
        ),
        "≥ 1.0× raw N, ≥ 0.5× axum",
        Some((whoami.rate / raw_n).min(whoami.rate / axum / 0.5)),
    ));

    let bt = bot_token.clone();
    let owner = sq.token.clone();
    let intro = load(sq.addr, conc, dur, Some(StatusCode::OK), move |_| {
        post_form("/v1/introspect", &owner, &format!("token={bt}"))
    })
    .await?;
    r.push(rate_row(
        LINES[5],
        intro.rate,
        &format!(
            "{:.2}× whoami · {:.2}× raw N",
            intro.rate / whoami.rate,
            intro.rate / raw_n
        ),
        "≥ 0.8× whoami",
        Some(intro.rate / whoami.rate / 0.8),
    ));

    let grpc = grpc_verify(sq.addr, &bot_token, conc, dur).await?;
    r.push(rate_row(
        LINES[6],
        grpc,
        &format!("{:.2}× raw N · {:.2}× axum", grpc / raw_n, grpc / axum),
        "≥ 1.0× raw N, ≥ 0.5× axum",
        Some((grpc / raw_n).min(grpc / axum / 0.5)),
    ));

    let leak_ratio = leak_timing(&sq, n(cfg, 2_000.0, 10)).await?;

    let issue_dur = secs(cfg, 3.0);
    let sq_issue = issue_rate(&sq, conc, issue_dur, false).await?;
    r.push(rate_row(
        LINES[7],
        sq_issue,
        &format!("{:.2}× goal", sq_issue / 4_400.0),
        "≥ 4,400/s",
        Some(sq_issue / 4_400.0),
    ));
    let keys = n(cfg, 100_000.0, 100);
    store_keys(&sq.db_url, &sq.token_id().await?, keys).await?;
    let sq_keyed = issue_rate(&sq, conc, issue_dur, true).await?;
    // whoami latency, idle and during keyed issue: one request every 2 ms,
    // light enough not to slow the issue down.
    let probe_dur = issue_dur / 2;
    let alone = probe(sq.addr, &bot_token, probe_dur).await?;
    let addr = sq.addr;
    let bt = bot_token.clone();
    let beside = tokio::spawn(async move { probe(addr, &bt, probe_dur).await });
    issue_rate(&sq, conc, probe_dur, true).await?;
    let beside = beside.await??;
    r.push(rate_row(
        LINES[8],
        sq_keyed,
        &format!("{:.2}× unkeyed", sq_keyed / sq_issue),
        "≥ 0.8× unkeyed",
        Some(sq_keyed / sq_issue / 0.8),
    ));
    r.push(Row {
        name: LINES[9],
        value: beside,
        unit: "ms",
        ratios: format!("{:.2}× idle ({:.2} ms)", beside / alone.max(1e-3), alone),
        goal: String::new(),
        holds: None,
        score: None,
        rate: false,
    });

    // ---- PostgreSQL: issue, and two replicas for revocation ----
    let pg = PgDb::create(&cfg.pg).await?;
    let master = {
        use base64::Engine;
        let k: [u8; 32] = rand::random();
        base64::engine::general_purpose::STANDARD.encode(k)
    };
    let a = Server::start(cfg, Some(&pg.url), Some(&master))?;
    let b = Server::start(cfg, Some(&pg.url), Some(&master))?;
    setup_bot(&a).await?;
    let pg_issue = issue_rate(&a, conc, issue_dur, false).await?;
    r.push(rate_row(
        LINES[10],
        pg_issue,
        &format!("{:.2}× goal", pg_issue / 2_000.0),
        "≥ 2,000/s",
        Some(pg_issue / 2_000.0),
    ));
    store_keys(&pg.url, &a.token_id().await?, keys).await?;
    let pg_keyed = issue_rate(&a, conc, issue_dur, true).await?;
    r.push(rate_row(
        LINES[11],
        pg_keyed,
        &format!("{:.2}× unkeyed", pg_keyed / pg_issue),
        "≥ 0.8× unkeyed",
        Some(pg_keyed / pg_issue / 0.8),
    ));

    let rounds = n(cfg, 200.0, 3);
    let (revoke_p99, refused_p99, accepted) = revoke_rounds(&a, &b, rounds).await?;
    r.push(Row {
        name: LINES[12],
        value: revoke_p99,
        unit: "ms",
        ratios: format!("{rounds} revokes"),
        goal: "≤ 50 ms".into(),
        holds: Some(revoke_p99 <= 50.0),
        score: Some(50.0 / revoke_p99.max(1e-9)),
        rate: false,
    });
    r.push(Row {
        name: LINES[13],
        value: refused_p99,
        unit: "ms",
        ratios: "from the revoke call's start".into(),
        goal: String::new(),
        holds: None,
        score: None,
        rate: false,
    });
    r.push(Row {
        name: LINES[14],
        value: accepted as f64,
        unit: "",
        ratios: String::new(),
        goal: "0 (SPEC §2 invariant 2)".into(),
        holds: Some(accepted == 0),
        score: Some(if accepted == 0 { 1.0 } else { 0.0 }),
        rate: false,
    });
    drop((a, b));
    pg.drop_db().await;

    // ---- memory, then a million tokens on SQLite ----
    let (_, peak) = sq.rss_kb()?;
    r.push(Row {
        name: LINES[15],
        value: idle as f64 / 1024.0,
        unit: "MB",
        ratios: String::new(),
        goal: "≤ 25 MB".into(),
        holds: Some(idle as f64 / 1024.0 <= 25.0),
        score: Some(25.0 / (idle as f64 / 1024.0).max(1e-9)),
        rate: false,
    });
    r.push(Row {
        name: LINES[16],
        value: peak as f64 / 1024.0,
        unit: "MB",
        ratios: format!("{:.1}× idle", peak as f64 / idle.max(1) as f64),
        goal: String::new(),
        holds: None,
        score: None,
        rate: false,
    });

    let tokens = n(cfg, 1_000_000.0, 1_000);
    bulk_tokens(&sq.db_url, tokens).await?;
    let pages = n(cfg, 300.0, 5);
    let list_p99 = list_pages(&sq, pages).await?;
    r.push(Row {
        name: LINES[17],
        value: list_p99,
        unit: "ms",
        ratios: format!("{} tokens, {pages} pages of 50", fmt_value(tokens as f64)),
        goal: "≤ 20 ms".into(),
        holds: Some(list_p99 <= 20.0),
        score: Some(20.0 / list_p99.max(1e-9)),
        rate: false,
    });
    let (ratio, live_ms, garbage_ms) = leak_ratio;
    let off = (ratio - 1.0).abs();
    r.push(Row {
        name: LINES[18],
        value: ratio,
        unit: "×",
        ratios: format!("{live_ms:.2} ms vs {garbage_ms:.2} ms"),
        goal: "within 0.8–1.25×".into(),
        holds: Some((0.8..=1.25).contains(&ratio)),
        score: Some(0.25 / off.max(1e-9)),
        rate: false,
    });
    Ok(())
}

/// `POST /v1/leaks` answered for a live token and for garbage of the same
/// length, interleaved on one connection, `rounds` each: the p50 of each and
/// their ratio. The answer must not tell them apart (SPEC §6), in time either:
/// the server only queues the report before answering.
async fn leak_timing(s: &Server, rounds: u64) -> anyhow::Result<(f64, f64, f64)> {
    let v = call(s.addr, issue_req(&s.token, None), StatusCode::CREATED).await?;
    let live = v["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token in {v}"))?
        .to_string();
    let garbage: String = live
        .chars()
        .map(|c| if c == '.' { '.' } else { 'x' })
        .collect();
    let report = |t: &str| {
        let body = serde_json::json!({"tokens": [t], "source": "bench"}).to_string();
        Request::post("/v1/leaks")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let mut conn = Conn::open(s.addr).await?;
    let (mut live_lat, mut garbage_lat) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (t, lat) in [(&live, &mut live_lat), (&garbage, &mut garbage_lat)] {
            let start = Instant::now();
            let (status, body) = conn.send(report(t)).await?;
            lat.push(start.elapsed());
            if status != StatusCode::ACCEPTED {
                bail!("leak report: {status}: {}", String::from_utf8_lossy(&body));
            }
        }
    }
    let (l, g) = (
        percentile_ms(live_lat, 0.5),
        percentile_ms(garbage_lat, 0.5),
    );
    Ok((l / g.max(1e-9), l, g))
}

fn rate_row(name: &'static str, v: f64, ratios: &str, goal: &str, score: Option<f64>) -> Row {
    Row {
        name,
        value: v,
        unit: "/s",
        ratios: ratios.into(),
        goal: goal.into(),
        holds: score.map(|s| s >= 1.0),
        score,
        rate: true,
    }
}

// ---------- raw verification ----------

fn raw_verify(token: &str, x: &str, threads: usize, per_thread: u64) -> anyhow::Result<f64> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let key = DecodingKey::from_ed_components(x)?;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.validate_aud = false;
    // Warm up, and check the token does verify.
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)?;
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    let ok = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v).is_ok();
                    assert!(ok);
                }
            });
        }
    });
    Ok((threads as u64 * per_thread) as f64 / start.elapsed().as_secs_f64())
}

// ---------- servers ----------

/// A `sigil server` process on 127.0.0.1, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The bootstrap owner token (of the first replica of a database).
    token: String,
    db_url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(cfg: &Config, db: Option<&str>, master: Option<&str>) -> anyhow::Result<Server> {
        static OWNER: std::sync::Mutex<Option<(String, String)>> = std::sync::Mutex::new(None);
        let dir = tempfile::tempdir()?;
        let token_file = dir.path().join("owner.token");
        let mut cmd = Command::new(&cfg.sigil);
        cmd.arg("server")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--bootstrap-token-file")
            .arg(&token_file)
            .arg("--leak-rate-limit")
            .arg("1000000000")
            .env("SIGIL_AUTH_FAILURES_PER_MINUTE", "1000000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = db {
            cmd.arg("--database-url").arg(url);
        }
        if let Some(m) = master {
            cmd.env("SIGIL_MASTER_KEY", m);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("{}", cfg.sigil.display()))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address, then drains the log (a real consumer of it).
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(a) = line.strip_prefix("listening on http://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(a.trim().to_string());
                    }
                }
            }
        });
        let addr: SocketAddr = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| anyhow!("sigil server did not start"))?
            .parse()?;
        let db_url = match db {
            Some(u) => u.to_string(),
            None => format!("sqlite://{}", dir.path().join("sigil.db").display()),
        };
        // The second replica of a database finds it bootstrapped: it uses the
        // first one's token.
        let token = match std::fs::read_to_string(&token_file) {
            Ok(t) => {
                let t = t.trim().to_string();
                *OWNER.lock().unwrap() = Some((db_url.clone(), t.clone()));
                t
            }
            Err(_) => match OWNER.lock().unwrap().clone() {
                Some((u, t)) if u == db_url => t,
                _ => bail!("no bootstrap token for {db_url}"),
            },
        };
        Ok(Server {
            child,
            addr,
            token,
            db_url,
            _dir: dir,
        })
    }

    /// (current, peak) resident memory in kB.
    fn rss_kb(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// The id of the owner token (its `jti`).
    async fn token_id(&self) -> anyhow::Result<String> {
        let v = get_json(self.addr, "/v1/whoami", Some(&self.token)).await?;
        v["token_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("whoami without token_id: {v}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /` answers "hello": the HTTP floor, on its own runtime.
struct HelloServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HelloServer {
    fn start() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(l, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Ok(HelloServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for HelloServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A fresh PostgreSQL database, dropped at the end.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    async fn create(admin: &str) -> anyhow::Result<PgDb> {
        sqlx::any::install_default_drivers();
        let name = format!("sigil_bench_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::AnyConnection::connect(admin)
            .await
            .with_context(|| format!("PostgreSQL at {admin} (SIGIL_TEST_PG)"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await?;
        let base = admin
            .rsplit_once('/')
            .ok_or_else(|| anyhow!("bad URL {admin}"))?
            .0;
        Ok(PgDb {
            admin: admin.into(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    async fn drop_db(self) {
        if let Ok(mut c) = sqlx::AnyConnection::connect(&self.admin).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c)
            .await;
        }
    }
}

// ---------- the load generator ----------

type Req = Request<Full<Bytes>>;

fn get(path: &str, token: Option<&str>) -> Req {
    let mut b = Request::get(path).header("host", "127.0.0.1");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

fn post_json(path: &str, token: &str, body: &serde_json::Value, key: Option<&str>) -> Req {
    let mut b = Request::post(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

fn post_form(path: &str, token: &str, body: &str) -> Req {
    Request::post(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn delete(path: &str, token: &str) -> Req {
    Request::delete(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

struct Load {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// One keep-alive HTTP/1.1 connection.
struct Conn(hyper::client::conn::http1::SendRequest<Full<Bytes>>);

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Conn(send))
    }

    async fn send(&mut self, req: Req) -> anyhow::Result<(StatusCode, Bytes)> {
        self.0.ready().await?;
        let resp = self.0.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// `conc` connections sending `make(i)` until `dur` has passed (each sends
/// at least one request, and at most 10 million are sent in all); every
/// answer must have status `expect` when given.
async fn load<F>(
    addr: SocketAddr,
    conc: usize,
    dur: Duration,
    expect: Option<StatusCode>,
    make: F,
) -> anyhow::Result<Load>
where
    F: Fn(u64) -> Req + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let make = make.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut lat = Vec::new();
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= 10_000_000 {
                    break;
                }
                let t = Instant::now();
                let (status, body) = conn.send(make(i)).await?;
                lat.push(t.elapsed().as_micros() as u32);
                if let Some(e) = expect {
                    if status != e {
                        bail!("{status}: {}", String::from_utf8_lossy(&body));
                    }
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(summarize(all, elapsed))
}

fn summarize(mut lat: Vec<u32>, elapsed: f64) -> Load {
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    Load {
        rate: lat.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

fn percentile_ms(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort_unstable();
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn get_json(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let (s, body) = Conn::open(addr).await?.send(get(path, token)).await?;
    if !s.is_success() {
        bail!("GET {path}: {s}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body)?)
}

async fn call(addr: SocketAddr, req: Req, expect: StatusCode) -> anyhow::Result<serde_json::Value> {
    let what = format!("{} {}", req.method(), req.uri());
    let (s, body) = Conn::open(addr).await?.send(req).await?;
    if s != expect {
        bail!("{what}: {s}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body).unwrap_or_default())
}

// ---------- the scenarios ----------

/// A bot `bench` allowed to issue nothing, with one token; answers the token.
async fn setup_bot(s: &Server) -> anyhow::Result<String> {
    call(
        s.addr,
        post_json(
            "/v1/orgs/default/bots",
            &s.token,
            &serde_json::json!({"username": "bench", "permissions": ["tokens:list:*"]}),
            None,
        ),
        StatusCode::CREATED,
    )
    .await?;
    let v = call(s.addr, issue_req(&s.token, None), StatusCode::CREATED).await?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no token in {v}"))
}

fn issue_req(owner: &str, key: Option<&str>) -> Req {
    post_json(
        "/v1/orgs/default/tokens",
        owner,
        &serde_json::json!({"owner": "bench", "expiry": "1h"}),
        key,
    )
}

async fn issue_rate(s: &Server, conc: usize, dur: Duration, keyed: bool) -> anyhow::Result<f64> {
    let owner = s.token.clone();
    let run = uuid::Uuid::new_v4().simple().to_string();
    Ok(
        load(s.addr, conc, dur, Some(StatusCode::CREATED), move |i| {
            let key = keyed.then(|| format!("bench-{run}-{i}"));
            issue_req(&owner, key.as_deref())
        })
        .await?
        .rate,
    )
}

async fn grpc_verify(
    addr: SocketAddr,
    token: &str,
    conc: usize,
    dur: Duration,
) -> anyhow::Result<f64> {
    use sigil_proto::v1::verifier_client::VerifierClient;
    use sigil_proto::v1::VerifyRequest;
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?;
    // A few HTTP/2 connections, several calls in flight on each.
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(endpoint.connect().await?);
    }
    let start = Instant::now();
    let deadline = start + dur;
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..conc {
        let mut client = VerifierClient::new(channels[i % channels.len()].clone());
        let token = token.to_string();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let v = client
                    .verify(VerifyRequest {
                        token: token.clone(),
                        required_claim: None,
                        client_address: None,
                    })
                    .await?
                    .into_inner();
                if !v.valid {
                    bail!("gRPC Verify refused the token: {}", v.reason);
                }
                count.fetch_add(1, Ordering::Relaxed);
                if Instant::now() >= deadline {
                    break;
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// whoami's p50 latency in ms, one request every 2 ms for `dur`.
async fn probe(addr: SocketAddr, token: &str, dur: Duration) -> anyhow::Result<f64> {
    let mut conn = Conn::open(addr).await?;
    let deadline = Instant::now() + dur;
    let mut lat = Vec::new();
    loop {
        let t = Instant::now();
        let (s, body) = conn.send(get("/v1/whoami", Some(token))).await?;
        lat.push(t.elapsed());
        if s != StatusCode::OK {
            bail!("whoami: {s}: {}", String::from_utf8_lossy(&body));
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(percentile_ms(lat, 0.5))
}

/// Stores `n` live Idempotency-Key answers of `caller` in one statement.
async fn store_keys(url: &str, caller: &str, n: u64) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let series = if url.starts_with("sqlite") {
        sqlx::query("PRAGMA busy_timeout = 30000")
            .execute(&mut c)
            .await?;
        format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s")
    } else {
        format!("SELECT generate_series(1, {n}) AS i")
    };
    sqlx::query(&format!(
        "INSERT INTO idempotency (caller_token_id, idem_key, request_hash, response_enc, created_at) \
         SELECT $1, 'stored-' || i, 'h', 'sealed-answer-placeholder', $2 FROM ({series}) AS g"
    ))
    .bind(caller)
    .bind(now)
    .execute(&mut c)
    .await?;
    Ok(())
}

/// Inserts `n` tokens of the bench bot in one statement (SQLite).
async fn bulk_tokens(url: &str, n: u64) -> anyhow::Result<()> {
    let mut c = sqlx::AnyConnection::connect(url).await?;
    sqlx::query("PRAGMA busy_timeout = 30000")
        .execute(&mut c)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO tokens (id, org_id, owner_id, owner_kind, owner_name, app_id, label, claims, kid, \
         created_at, created_by, created_by_name, expires_at) \
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
         SELECT printf('00000000-0000-4000-8000-%012x', i), t.org_id, t.owner_id, t.owner_kind, \
         t.owner_name, NULL, 'bulk', t.claims, t.kid, t.created_at, t.created_by, t.created_by_name, \
         t.expires_at + 86400 FROM s, (SELECT * FROM tokens WHERE owner_name = 'bench' LIMIT 1) AS t"
    ))
    .execute(&mut c)
    .await?;
    Ok(())
}

/// Walks the token list page by page (50 a page), one request at a time;
/// answers the p99 latency in ms.
async fn list_pages(s: &Server, pages: u64) -> anyhow::Result<f64> {
    let mut conn = Conn::open(s.addr).await?;
    let mut lat = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let path = match &cursor {
            Some(c) => format!("/v1/orgs/default/tokens?limit=50&cursor={c}"),
            None => "/v1/orgs/default/tokens?limit=50".to_string(),
        };
        let t = Instant::now();
        let (st, body) = conn.send(get(&path, Some(&s.token))).await?;
        lat.push(t.elapsed());
        if st != StatusCode::OK {
            bail!("{path}: {st}: {}", String::from_utf8_lossy(&body));
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        cursor = v["next_cursor"].as_str().map(str::to_string);
    }
    Ok(percentile_ms(lat, 0.99))
}

/// Issues a token on `a`, sees it accepted on `b`, revokes it on `a`, then
/// asks `b` again at once. Answers (revoke p99, refused-on-b p99, tokens
/// still accepted by `b` after the revoke returned).
async fn revoke_rounds(a: &Server, b: &Server, rounds: u64) -> anyhow::Result<(f64, f64, u64)> {
    let mut ca = Conn::open(a.addr).await?;
    let mut cb = Conn::open(b.addr).await?;
    let (mut revoke, mut refused, mut accepted) = (Vec::new(), Vec::new(), 0);
    for _ in 0..rounds {
        let (s, body) = ca.send(issue_req(&a.token, None)).await?;
        if s != StatusCode::CREATED {
            bail!("issue: {s}: {}", String::from_utf8_lossy(&body));
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let (id, jwt) = (
            v["id"].as_str().unwrap_or_default(),
            v["token"].as_str().unwrap_or_default(),
        );
        let (s, _) = cb.send(get("/v1/whoami", Some(jwt))).await?;
        if s != StatusCode::OK {
            bail!("replica b refused a fresh token: {s}");
        }
        let t0 = Instant::now();
        let (s, body) = ca
            .send(delete(&format!("/v1/orgs/default/tokens/{id}"), &a.token))
            .await?;
        revoke.push(t0.elapsed());
        if !s.is_success() {
            bail!("revoke: {s}: {}", String::from_utf8_lossy(&body));
        }
        let (s, _) = cb.send(get("/v1/whoami", Some(jwt))).await?;
        refused.push(t0.elapsed());
        if s.is_success() {
            accepted += 1;
        }
    }
    Ok((
        percentile_ms(revoke, 0.99),
        percentile_ms(refused, 0.99),
        accepted,
    ))
}

// ---------- the plot ----------

/// Two horizontal bar charts, hand-written SVG (no fonts or libraries
/// needed): every rate as a multiple of the raw N-thread verify rate, and
/// every figure that has a goal against that goal (1.0 = just met).
pub fn write_svg(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    let raw = rows
        .iter()
        .find(|r| r.name == LINES[1])
        .map_or(1.0, |r| r.value)
        .max(1e-9);
    let rates: Vec<(&Row, f64, String)> = rows
        .iter()
        .filter(|r| r.rate)
        .map(|r| {
            let x = r.value / raw;
            (r, x, format!("{x:.2}× · {}/s", fmt_value(r.value)))
        })
        .collect();
    let goals: Vec<(&Row, f64, String)> = rows
        .iter()
        .filter_map(|r| {
            r.score.map(|x| {
                let x = if x.is_finite() { x } else { 0.0 };
                (
                    r,
                    x,
                    format!(
                        "{x:.2}× goal · {} {} ({})",
                        fmt_value(r.value),
                        r.unit,
                        r.goal
                    ),
                )
            })
        })
        .collect();
    let (left, width) = (330.0, 420.0);
    let mut s = String::new();
    let mut y = 0.0;
    let mut body = String::new();
    panel(
        &mut body,
        &mut y,
        &format!(
            "Rates as a multiple of raw Ed25519 verify ({} threads, {}/s)",
            cores(),
            fmt_value(raw)
        ),
        "1.0× raw verify",
        &rates,
        (left, width),
    );
    y += 20.0;
    panel(
        &mut body,
        &mut y,
        "Each figure against its goal (right of the line: the goal holds)",
        "goal",
        &goals,
        (left, width),
    );
    let height = y + 30.0;
    s.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" \
         viewBox=\"0 0 {w} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        w = left + width + 260.0,
    ));
    s.push_str(&body);
    s.push_str(&format!(
        "<text x=\"10\" y=\"{}\" fill=\"#555\">green: goal holds · orange: goal missed · blue: no goal of its own</text>\n</svg>\n",
        height - 10.0
    ));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, s).with_context(|| format!("{}", path.display()))?;
    Ok(())
}

/// One bar chart at `y` (moved past it): bars of `x`, a dashed line at 1.0.
fn panel(
    out: &mut String,
    y: &mut f64,
    title: &str,
    one: &str,
    bars: &[(&Row, f64, String)],
    (left, width): (f64, f64),
) {
    let (bar_h, gap) = (16.0, 6.0);
    let max = bars.iter().map(|b| b.1).fold(1.0_f64, f64::max).min(50.0);
    out.push_str(&format!(
        "<text x=\"10\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        *y + 22.0,
        xml(title)
    ));
    let top = *y + 44.0;
    let bottom = top + bars.len() as f64 * (bar_h + gap);
    let x1 = left + width / max;
    out.push_str(&format!(
        "<line x1=\"{x1:.1}\" y1=\"{}\" x2=\"{x1:.1}\" y2=\"{bottom}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n\
         <text x=\"{x1:.1}\" y=\"{}\" fill=\"#c00\" text-anchor=\"middle\">{}</text>\n",
        top - 6.0,
        top - 8.0,
        xml(one)
    ));
    for (i, (r, x, label)) in bars.iter().enumerate() {
        let by = top + i as f64 * (bar_h + gap);
        let w = (width * x.min(max) / max).max(1.0);
        let color = match r.holds {
            Some(true) => "#2a9d4b",
            Some(false) => "#d9822b",
            None => "#4a78b5",
        };
        out.push_str(&format!(
            "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>\n\
             <rect x=\"{left}\" y=\"{by}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{color}\"/>\n\
             <text x=\"{vx:.1}\" y=\"{ty}\">{label}</text>\n",
            tx = left - 6.0,
            ty = by + 12.0,
            name = xml(r.name),
            vx = left + w + 4.0,
            label = xml(label),
        ));
    }
    *y = bottom;
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
