//! Webhook deliveries with real `sigil server` processes and a real HTTP
//! receiver in this process (docs/webhooks.md): deliveries pending when a
//! server is killed (SIGKILL) with its receiver down are delivered after the
//! restart; two replicas on one PostgreSQL database deliver every event, and
//! every expiry warning, exactly once when nothing fails.

use sigil_e2e::{PgDb, ServerOptions, TestServer, MASTER_KEY};
use sigil_proto::api::{CreateBot, CreateWebhook, IssueToken, ListQuery, UpdateOrg};
use sigil_proto::client::Client;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sigil_e2e::rt;

/// One request a receiver got: (Sigil-Event, Sigil-Delivery, body).
type Got = (String, String, String);

/// A webhook receiver: a plain HTTP/1.1 listener on 127.0.0.1 answering 200
/// to every POST, recording each. Runs until the test process ends.
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    fn start(listener: TcpListener) -> Receiver {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let r = Receiver { got: got.clone() };
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let got = got.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(s.try_clone().unwrap());
                    let mut headers = BTreeMap::new();
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    got.lock().unwrap().push((
                        headers.get("sigil-event").cloned().unwrap_or_default(),
                        headers.get("sigil-delivery").cloned().unwrap_or_default(),
                        String::from_utf8_lossy(&body).into_owned(),
                    ));
                    let _ = s.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                });
            }
        });
        r
    }

    fn of_type(&self, ty: &str) -> Vec<Got> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|g| g.0 == ty).cloned().collect()
    }

    /// Waits (at most `bound`) until `n` requests of type `ty` arrived.
    fn wait_for(&self, ty: &str, n: usize, bound: Duration) -> Vec<Got> {
        let start = Instant::now();
        loop {
            let got = self.of_type(ty);
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < bound,
                "{ty}: {} of {n} deliveries arrived within {bound:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn webhook(c: &Client, url: &str, events: &[&str]) -> uuid::Uuid {
    c.create_webhook(
        "default",
        &CreateWebhook {
            url: url.into(),
            events: Some(events.iter().map(|e| e.to_string()).collect()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .webhook
    .id
}

async fn bot(c: &Client, name: &str) {
    c.create_bot(
        "default",
        &CreateBot {
            username: name.into(),
            permissions: vec!["bots:list:*".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

/// Waits until the webhook's log holds `n` attempts; answers them.
async fn attempts(c: &Client, hook: uuid::Uuid, n: usize) -> Vec<sigil_proto::api::Delivery> {
    let start = Instant::now();
    loop {
        let q = ListQuery {
            limit: Some(500),
            ..Default::default()
        };
        let page = c.list_deliveries("default", hook, &q).await.unwrap();
        if page.items.len() >= n {
            return page.items;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} of {n} attempts logged in 30s",
            page.items.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn webhooks_pending_deliveries_survive_a_kill9() {
    // The receiver's address, with nothing listening there yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let dir = tempfile::tempdir().unwrap();
    let opts = ServerOptions {
        data_dir: Some(dir.path().to_path_buf()),
        args: vec!["--webhook-retry-base".into(), "1s".into()],
        ..Default::default()
    };
    let mut s = TestServer::start_with(opts.clone());
    let owner = s.owner_token.clone();
    let rt = rt();
    let hook = rt.block_on(async {
        let c = s.client();
        let hook = webhook(&c, &url, &["bot.created"]).await;
        for name in ["ann", "bob", "cat"] {
            bot(&c, name).await;
        }
        // Each delivery failed once (the receiver is down): all pending.
        let log = attempts(&c, hook, 3).await;
        assert!(log.iter().all(|a| a.result == "failed"), "{log:?}");
        hook
    });
    s.kill9();

    let rx = Receiver::start(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let s = TestServer::start_with(opts);
    let got = rx.wait_for("bot.created", 3, Duration::from_secs(30));
    let names: std::collections::BTreeSet<String> = got
        .iter()
        .map(|g| {
            serde_json::from_str::<serde_json::Value>(&g.2).unwrap()["data"]["username"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["ann", "bob", "cat"].map(String::from).into());
    rt.block_on(async {
        let c = s.client_with(&owner);
        let log = attempts(&c, hook, 6).await;
        assert_eq!(
            log.iter().filter(|a| a.result == "delivered").count(),
            3,
            "{log:?}"
        );
    });
}

#[test]
fn webhooks_two_replicas_deliver_each_event_and_warning_once() {
    let db = PgDb::create();
    let opts = || ServerOptions {
        database_url: Some(db.url.clone()),
        args: vec![
            "--webhook-retry-base".into(),
            "1s".into(),
            "--expiry-scan-interval".into(),
            "1s".into(),
        ],
        env: vec![("SIGIL_MASTER_KEY".into(), MASTER_KEY.into())],
        ..Default::default()
    };
    let a = TestServer::start_with(opts());
    let b = TestServer::start_with(opts());
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let rx = Receiver::start(l);
    let rt = rt();
    let (soon, short) = rt.block_on(async {
        let ca = a.client();
        let cb = b.client_with(&a.owner_token);
        let replicas = [&ca, &cb];
        webhook(&ca, &url, &["*"]).await;
        let org = cb
            .update_org(
                "default",
                &UpdateOrg {
                    expiry_warning: Some("1h".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(org.expiry_warning, 3600);
        for i in 0..10 {
            bot(replicas[i % 2], &format!("bot-{i}")).await;
        }
        // Inside the 1h warning window at once; two also expire soon.
        let mut soon = Vec::new();
        let mut short = Vec::new();
        for (i, expiry) in ["30m", "30m", "30m", "30m", "8s", "8s"].iter().enumerate() {
            let t = replicas[i % 2]
                .issue_token(
                    "default",
                    &IssueToken {
                        owner: format!("bot-{i}"),
                        expiry: Some(expiry.to_string()),
                        ..Default::default()
                    },
                    None,
                )
                .await
                .unwrap();
            if *expiry == "8s" {
                short.push(t.metadata.id.to_string());
            } else {
                soon.push(t.metadata.id.to_string());
            }
        }
        (soon, short)
    });
    let bound = Duration::from_secs(60);
    rx.wait_for("bot.created", 10, bound);
    rx.wait_for("token.issued", 6, bound);
    rx.wait_for("token.expired", 2, bound);
    let token_of = |g: &Got| {
        serde_json::from_str::<serde_json::Value>(&g.2).unwrap()["data"]["token_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // Every expiry warning once: the 30m tokens' warnings all came (one
    // replica won each), the short ones' expiries each once.
    let start = Instant::now();
    while !soon.iter().all(|id| {
        rx.of_type("token.expiring")
            .iter()
            .any(|g| token_of(g) == *id)
    }) {
        assert!(start.elapsed() < bound, "token.expiring missing");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The log shows each delivery delivered on its first attempt: nothing
    // is still pending, so no further request will come.
    let got = rx.got.lock().unwrap().clone();
    rt.block_on(async {
        let c = a.client();
        let hooks = c.list_all_webhooks("default").await.unwrap();
        let log = attempts(&c, hooks[0].id, got.len()).await;
        assert!(
            log.iter()
                .all(|d| d.result == "delivered" && d.attempt == 1),
            "{log:?}"
        );
    });
    let got = rx.got.lock().unwrap().clone();
    let mut per_delivery: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &got {
        *per_delivery.entry(g.1.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_delivery.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    for (ty, ids) in [
        ("token.expiring", &soon),
        ("token.expired", &short),
        ("token.issued", &soon),
    ] {
        for id in ids {
            let n = rx.of_type(ty).iter().filter(|g| token_of(g) == *id).count();
            assert_eq!(n, 1, "{ty} for {id}: {n} times");
        }
    }
    for id in &short {
        let n = rx
            .of_type("token.expiring")
            .iter()
            .filter(|g| token_of(g) == *id)
            .count();
        assert!(n <= 1, "token.expiring for {id}: {n} times");
    }
}
