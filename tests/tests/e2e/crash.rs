//! Crash tests: kill -9 the server during concurrent issuing and revoking,
//! restart, and nothing acknowledged is lost — every acknowledged token
//! authenticates, every acknowledged revocation holds (SQLite, PostgreSQL);
//! PostgreSQL connections terminated under load answer 503 while the pool
//! reconnects, never 500, and lose nothing either.

use sigil_e2e::{psql, PgDb, ServerOptions, TestServer};
use sigil_proto::api::{CreateBot, IssueToken};
use sigil_proto::client::Client;
use sigil_proto::SecretString;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent clients, and requests each makes at most: a few hundred in all.
const WORKERS: usize = 8;
const PER_WORKER: usize = 40;

use sigil_e2e::rt;

/// What the clients were told.
#[derive(Default)]
struct Acked {
    /// Issued (201), with their JWTs.
    tokens: Vec<(uuid::Uuid, SecretString)>,
    /// Revoked (200).
    revoked: Vec<uuid::Uuid>,
    /// Revocations sent whose answer was lost: either outcome is right.
    unsure: Vec<uuid::Uuid>,
    /// Failed answers by status (`transport` when none came).
    failures: BTreeMap<String, usize>,
}

fn failure(a: &Mutex<Acked>, e: &sigil_proto::client::ClientError) {
    let key = e
        .status()
        .map_or_else(|| "transport".to_string(), |s| s.to_string());
    *a.lock().unwrap().failures.entry(key).or_default() += 1;
}

/// Issues tokens for `steve` and revokes every third one, from [`WORKERS`]
/// clients, until each made [`PER_WORKER`] issues or `stop` is set.
async fn load(
    owner: Client,
    acked: Arc<Mutex<Acked>>,
    issued: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (owner, acked, issued, stop) =
            (owner.clone(), acked.clone(), issued.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WORKER {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let req = IssueToken {
                    owner: "steve".into(),
                    label: Some(format!("w{w}-{i}")),
                    ..Default::default()
                };
                let t = match owner.issue_token("default", &req, None).await {
                    Ok(t) => t,
                    Err(e) => {
                        failure(&acked, &e);
                        continue;
                    }
                };
                let id = t.metadata.id;
                acked.lock().unwrap().tokens.push((id, t.token));
                issued.fetch_add(1, Ordering::SeqCst);
                if i.is_multiple_of(3) {
                    match owner.revoke_token("default", id, Some("crash test")).await {
                        Ok(_) => acked.lock().unwrap().revoked.push(id),
                        Err(e) => {
                            failure(&acked, &e);
                            acked.lock().unwrap().unsure.push(id);
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Waits (bounded) until `n` tokens were issued.
fn wait_issued(issued: &AtomicUsize, n: usize) {
    let start = Instant::now();
    while issued.load(Ordering::SeqCst) < n {
        assert!(start.elapsed() < Duration::from_secs(60), "load stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every acknowledged token authenticates unless its revocation was
/// acknowledged (or unsure); every acknowledged revocation holds.
async fn check(s: &TestServer, a: &Acked) {
    assert!(!a.tokens.is_empty());
    for (id, jwt) in &a.tokens {
        let r = s.client_with(jwt).whoami().await;
        if a.revoked.contains(id) {
            let e = r.expect_err("an acknowledged revocation was lost");
            assert_eq!(e.status(), Some(401), "{id}: {e}");
        } else if !a.unsure.contains(id) {
            r.unwrap_or_else(|e| panic!("acknowledged token {id} lost: {e}"));
        }
    }
}

fn setup(s: &TestServer) {
    rt().block_on(s.client().create_bot(
        "default",
        &CreateBot {
            username: "steve".into(),
            permissions: vec!["machines:get:*".into()],
            ..Default::default()
        },
    ))
    .unwrap();
}

/// Starts on `opts`, loads, kills -9 mid-load, restarts, checks.
fn kill9_under_load(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = ServerOptions {
        database_url,
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let mut s = TestServer::start_with(opts.clone());
    setup(&s);
    let owner_token = s.owner_token.clone();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let issued = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = rt();
    let running = rt.spawn(load(
        s.client(),
        acked.clone(),
        issued.clone(),
        stop.clone(),
    ));
    wait_issued(&issued, 60);
    s.kill9();
    stop.store(true, Ordering::SeqCst);
    rt.block_on(running).unwrap();

    let mut s2 = TestServer::start_with(opts);
    s2.owner_token = owner_token;
    let a = acked.lock().unwrap();
    eprintln!(
        "acknowledged {} issued, {} revoked; failures {:?}",
        a.tokens.len(),
        a.revoked.len(),
        a.failures
    );
    rt.block_on(check(&s2, &a));
    // The restarted server carries on.
    rt.block_on(s2.client().whoami()).unwrap();
}

#[test]
fn kill9_under_load_loses_nothing_acknowledged_sqlite() {
    kill9_under_load(None);
}

#[test]
fn kill9_under_load_loses_nothing_acknowledged_postgres() {
    let db = PgDb::create();
    kill9_under_load(Some(db.url.clone()));
}

#[test]
fn terminated_postgres_connections_answer_503_and_lose_nothing() {
    let db = PgDb::create();
    let s = TestServer::start_with(ServerOptions {
        database_url: Some(db.url.clone()),
        ..Default::default()
    });
    setup(&s);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let issued = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = rt();
    let running = rt.spawn(load(s.client(), acked.clone(), issued.clone(), stop));
    let kill = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid()",
        db.name()
    );
    let mut terminated = 0;
    for n in [30, 90, 150] {
        wait_issued(&issued, n);
        terminated += psql(&kill).trim().parse::<usize>().unwrap();
    }
    assert!(terminated > 0, "no connection of the server was terminated");
    rt.block_on(running).unwrap();
    let a = acked.lock().unwrap();
    eprintln!(
        "terminated {terminated}; acknowledged {} issued, {} revoked; failures {:?}",
        a.tokens.len(),
        a.revoked.len(),
        a.failures
    );
    let unexpected: Vec<_> = a.failures.keys().filter(|k| *k != "503").collect();
    assert!(
        unexpected.is_empty(),
        "only 503 while reconnecting, got {:?}; log:\n{}",
        a.failures,
        s.logs()
    );
    rt.block_on(check(&s, &a));
}
