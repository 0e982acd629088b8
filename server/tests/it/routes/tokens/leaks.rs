//! `POST /v1/leaks`: no authentication; garbage and live tokens answered
//! alike; live ones revoked (`leaked`) after the answer with their
//! descendants; an already revoked token untouched; rate limited per address.

use crate::{both, code, field, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    garbage_and_live_tokens_answer_alike,
    a_live_token_is_revoked_with_its_source,
    descendants_die_with_a_leaked_token,
    an_already_revoked_token_changes_nothing,
    the_61st_report_in_an_hour_is_429,
    a_malformed_report_is_400,
    a_misplaced_token_is_never_echoed,
    a_token_in_the_source_is_redacted,
    a_full_queue_is_503_whatever_the_content,
    ipv6_reporters_count_per_64,
    settle_processes_every_queued_report
);

const LEAKS: &str = "/v1/leaks";

async fn report(c: &Ctx, body: Value) -> (StatusCode, Value) {
    c.call("POST", LEAKS, None, Some(body)).await
}

/// Waits until every report received so far is processed.
async fn settled(c: &Ctx) {
    for _ in 0..500 {
        if c.state.leaks.settled() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("leak reports still queued after 5s");
}

async fn view(c: &Ctx, id: &str) -> Value {
    let (s, v) = c
        .get(&format!("/v1/orgs/default/tokens/{id}"), &c.owner)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// Every audit entry of the default org.
async fn audit(c: &Ctx) -> Vec<Value> {
    let (s, v) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn garbage_and_live_tokens_answer_alike(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, live) = c.issue("steve").await;
    // Same length, same shape: only the signature tells them apart.
    let forged = format!("{}x", &live[..live.len() - 1]);
    let garbage = "x".repeat(live.len());
    let answers = [
        report(
            &c,
            json!({"tokens": [garbage], "source": "https://paste.example/1"}),
        )
        .await,
        report(
            &c,
            json!({"tokens": [forged], "source": "https://paste.example/1"}),
        )
        .await,
        report(
            &c,
            json!({"tokens": [live], "source": "https://paste.example/1"}),
        )
        .await,
    ];
    for a in &answers {
        assert_eq!(a, &(StatusCode::ACCEPTED, json!({"received": 1})));
    }
    let (s, v) = report(&c, json!({"tokens": ["a", "b", "c"]})).await;
    assert_eq!((s, v), (StatusCode::ACCEPTED, json!({"received": 3})));
}

async fn a_live_token_is_revoked_with_its_source(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, live) = c.issue("steve").await;
    let (s, _) = report(
        &c,
        json!({"tokens": ["garbage", live], "source": "https://github.com/acme/app/blob/main/.env"}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settled(&c).await;
    let v = view(&c, &id).await;
    assert_eq!(
        (v["status"].as_str(), v["revoked_reason"].as_str()),
        (Some("revoked"), Some("leaked")),
        "{v}"
    );
    assert_eq!(
        c.status("/v1/whoami", &live).await,
        StatusCode::UNAUTHORIZED
    );
    let entries = audit(&c).await;
    let leaked: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "token.leaked")
        .collect();
    assert_eq!(leaked.len(), 1, "{entries:?}");
    assert_eq!(leaked[0]["target_id"].as_str(), Some(id.as_str()));
    assert_eq!(
        leaked[0]["details"]["source"],
        "https://github.com/acme/app/blob/main/.env"
    );
    assert_eq!(leaked[0]["actor"], "leak report");
    // The JWT is nowhere: not in the audit, not in the database.
    let signature = live.rsplit('.').next().unwrap();
    assert!(!serde_json::to_string(&entries).unwrap().contains(signature));
    assert!(!c.database_text().await.contains(signature));
    // In the revocation feed, so watchers learn of it.
    let (_, feed) = c.get("/v1/revocations?since=0", &c.owner).await;
    assert!(feed.to_string().contains(&id), "{feed}");
}

async fn descendants_die_with_a_leaked_token(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, root) = c.issue("steve").await;
    let (s, v) = c.post("/v1/tokens/attenuate", &root, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (kid_id, kid) = (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    );
    report(&c, json!({"tokens": [root]})).await;
    settled(&c).await;
    assert_eq!(c.status("/v1/whoami", &kid).await, StatusCode::UNAUTHORIZED);
    assert_eq!(view(&c, &kid_id).await["revoked_reason"], "parent revoked");
}

async fn an_already_revoked_token_changes_nothing(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, jwt) = c.issue("steve").await;
    c.call(
        "DELETE",
        &format!("/v1/orgs/default/tokens/{id}"),
        Some(&c.owner),
        Some(json!({"reason": "rotated"})),
    )
    .await;
    let before = view(&c, &id).await;
    let entries = audit(&c).await.len();
    c.advance(10);
    let (s, v) = report(
        &c,
        json!({"tokens": [jwt.clone(), jwt], "source": "a paste"}),
    )
    .await;
    assert_eq!((s, v), (StatusCode::ACCEPTED, json!({"received": 2})));
    settled(&c).await;
    assert_eq!(view(&c, &id).await, before);
    assert_eq!(audit(&c).await.len(), entries, "no second audit entry");
    // A live token reported twice in one report is revoked once.
    let (id2, jwt2) = c.issue("steve").await;
    report(&c, json!({"tokens": [jwt2.clone(), jwt2]})).await;
    settled(&c).await;
    let n = audit(&c)
        .await
        .iter()
        .filter(|e| e["action"] == "token.leaked" && e["target_id"] == id2.as_str())
        .count();
    assert_eq!(n, 1);
}

async fn the_61st_report_in_an_hour_is_429(c: Ctx) {
    for i in 0..60 {
        let (s, v) = report(&c, json!({"tokens": [format!("garbage-{i}")]})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "report {i}: {v}");
    }
    let (s, v) = report(&c, json!({"tokens": ["one more"]})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{v}"
    );
    // Malformed reports are refused 429 too: every request counts.
    let (s, _) = report(&c, json!({"tokens": []})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    c.advance(3600);
    let (s, _) = report(&c, json!({"tokens": ["an hour later"]})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settled(&c).await;
}

async fn a_malformed_report_is_400(c: Ctx) {
    let many: Vec<String> = (0..1001).map(|i| format!("t{i}")).collect();
    for (body, f) in [
        (json!({"tokens": []}), "tokens"),
        (json!({"tokens": many}), "tokens"),
        (
            json!({"tokens": ["x"], "source": "s".repeat(2049)}),
            "source",
        ),
        (json!({"tokens": ["x"], "where": "here"}), "where"),
        (json!({"source": "a paste"}), "tokens"),
        (json!({"tokens": "eyJ.x.y"}), "tokens"),
    ] {
        let (s, v) = report(&c, body.clone()).await;
        assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, f), "{v}");
        assert!(!v.to_string().contains("eyJ.x.y"), "{v}");
    }
    let (s, v) = report(&c, json!({"tokens": ["x"], "source": "s".repeat(2048)})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    settled(&c).await;
}

async fn a_token_in_the_source_is_redacted(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, other) = c.issue("steve").await;
    let dotted = other.replace('.', "%2E");
    // Wherever it stands and however a link encodes it: after a separator,
    // glued to a word, behind `%3D` or `Bearer%20`, with `%2E` dots.
    let cases = [
        (
            format!("https://paste.example/raw?token={other}&x=1"),
            "https://paste.example/raw?token=eyJ…<redacted>&x=1",
        ),
        (
            format!("https://l.example/?u=https%3A%2F%2Fx%3Ftoken%3D{other}"),
            "https://l.example/?u=https%3A%2F%2Fx%3Ftoken%3DeyJ…<redacted>",
        ),
        (
            format!("curl -H auth=Bearer%20{dotted} x"),
            "curl -H auth=Bearer%20eyJ…<redacted> x",
        ),
        (format!("glued{other}"), "gluedeyJ…<redacted>"),
    ];
    let mut ids = vec![];
    for (source, _) in &cases {
        let (id, live) = c.issue("steve").await;
        let (s, _) = report(&c, json!({"tokens": [live], "source": source})).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        ids.push(id);
    }
    settled(&c).await;
    let entries = audit(&c).await;
    for (id, (_, want)) in ids.iter().zip(&cases) {
        let leaked = entries
            .iter()
            .find(|e| e["action"] == "token.leaked" && e["target_id"] == id.as_str())
            .expect("a token.leaked entry");
        assert_eq!(leaked["details"]["source"], *want);
    }
    // Nowhere: not in the audit, not in the events for webhooks, not in
    // the database.
    let signature = other.rsplit('.').next().unwrap();
    let payload = other.split('.').nth(1).unwrap();
    let all = serde_json::to_string(&entries).unwrap();
    assert!(!all.contains(signature) && !all.contains(payload));
    let db = c.database_text().await;
    assert!(!db.contains(signature) && !db.contains(payload));
}

async fn a_full_queue_is_503_whatever_the_content(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, live) = c.issue("steve").await;
    let garbage = "x".repeat(live.len());
    // Room for one string of this length, not two.
    c.state.leaks.set_queue_cap(live.len() * 2 - 1);
    for tokens in [
        json!([live, garbage]),
        json!([garbage, garbage]),
        json!([live, live]),
    ] {
        let (s, v) = report(&c, json!({ "tokens": tokens })).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            "{v}"
        );
        assert_no_secret(&live, &v, "503");
    }
    settled(&c).await;
    assert_eq!(view(&c, &id).await["status"], "active");
    // A report that fits is taken; its room is free again once processed.
    for _ in 0..3 {
        let (s, v) = report(&c, json!({ "tokens": [garbage] })).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        settled(&c).await;
    }
    let (s, _) = report(&c, json!({ "tokens": [live] })).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settled(&c).await;
    assert_eq!(view(&c, &id).await["status"], "revoked");
}

/// A leak report from the TCP peer `peer`; answers the status.
async fn report_from(c: &Ctx, peer: &str) -> StatusCode {
    let mut req = c.request("POST", LEAKS, None, Some(json!({"tokens": ["x"]})));
    let addr: std::net::SocketAddr = peer.parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    c.send(req).await.0
}

async fn ipv6_reporters_count_per_64(c: Ctx) {
    let c = c
        .fresh(sigil_server::state::Settings {
            leak_reports_per_hour: 2,
            ..Default::default()
        })
        .await;
    // One /64: one bucket, whichever addresses in it.
    assert_eq!(
        report_from(&c, "[2001:db8:1:2::1]:1").await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        report_from(&c, "[2001:db8:1:2:ffff::9]:1").await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        report_from(&c, "[2001:db8:1:2:abcd:1:2:3]:1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The next /64 is another bucket.
    assert_eq!(
        report_from(&c, "[2001:db8:1:3::1]:1").await,
        StatusCode::ACCEPTED
    );
    // IPv4: per address; mapped IPv4 is that address.
    assert_eq!(report_from(&c, "10.0.0.1:1").await, StatusCode::ACCEPTED);
    assert_eq!(
        report_from(&c, "[::ffff:10.0.0.1]:1").await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        report_from(&c, "10.0.0.1:2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(report_from(&c, "10.0.0.2:1").await, StatusCode::ACCEPTED);
    settled(&c).await;
}

async fn settle_processes_every_queued_report(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (id, live) = c.issue("steve").await;
        let (s, _) = report(&c, json!({"tokens": ["garbage", live]})).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        ids.push(id);
    }
    // What a graceful shutdown waits for (`serve`, bounded by
    // --shutdown-timeout).
    sigil_server::ops::leaks::settle(&c.state).await;
    assert!(c.state.leaks.settled());
    for id in ids {
        assert_eq!(view(&c, &id).await["status"], "revoked");
    }
}

/// The secret parts of `jwt` (payload and signature): none may appear.
pub(crate) fn assert_no_secret(jwt: &str, v: &Value, what: &str) {
    let text = v.to_string();
    for part in jwt.split('.').skip(1) {
        assert!(
            !text.contains(&part[..12]),
            "{what}: echoes the token: {text}"
        );
    }
}

async fn a_misplaced_token_is_never_echoed(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, jwt) = c.issue("steve").await;
    for (body, f) in [
        (json!({"tokens": jwt}), "tokens"),
        (json!({"tokens": format!("x.{jwt}")}), "tokens"),
        (json!({"tokens": format!("{jwt}\"")}), "tokens"),
        (json!({"tokens": [jwt], "source": [jwt]}), "source"),
        (json!({"tokens": [jwt], jwt.clone(): 1}), "<redacted>"),
        (
            json!({"tokens": [jwt], format!("x.{jwt}"): 1}),
            "<redacted>",
        ),
    ] {
        let (s, v) = report(&c, body.clone()).await;
        assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, f), "{v}");
        assert_no_secret(&jwt, &v, &body.to_string());
    }
    let (s, v) = report(&c, json!({"tokens": "not a list"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type: a string, expected"),
        "still says what is wrong: {v}"
    );
    assert!(!v.to_string().contains("not a list"), "{v}");
}

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Neither the request log nor the processing after it writes a reported
/// string, live or not.
#[tokio::test]
async fn a_reported_token_is_never_logged() {
    let c = Ctx::new(crate::harness::Db::Sqlite).await;
    c.bot("steve", &["bots:list:*"]).await;
    let (_, live) = c.issue("steve").await;
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let (s, _) = report(
        &c,
        json!({"tokens": [live.clone(), "not-a-token-0123456789"], "source": "a paste"}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settled(&c).await;
    drop(guard);
    let out = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("/v1/leaks"), "{out}");
    let signature = live.rsplit('.').next().unwrap();
    assert!(!out.contains(signature), "{out}");
    assert!(!out.contains("not-a-token-0123456789"), "{out}");
}
