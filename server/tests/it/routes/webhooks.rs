//! `POST,GET /v1/orgs/{org}/webhooks`, `GET,PATCH,DELETE …/webhooks/{id}`,
//! `GET …/deliveries`, `POST …/test`, `PATCH /v1/orgs/{org}`: the secret
//! answered once; events delivered, signed, to a real HTTP receiver in this
//! process; retries; expiry warnings; metrics.

use crate::{both, field, Ctx};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sigil_server::state::Settings;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both!(
    the_secret_is_answered_once,
    a_patched_secret_signs_from_then_on,
    bad_input_is_400_naming_the_field,
    each_event_type_arrives_signed,
    a_receiver_failing_twice_gets_the_third_attempt,
    a_hanging_receiver_never_slows_the_api,
    test_delivers_now_and_answers_the_attempt,
    expiry_warnings_fire_once_each,
    metrics_count_expiring_tokens_and_deliveries,
    the_delivery_log_is_kept_30_days,
    a_dead_replicas_claim_lapses_and_another_delivers,
    after_24_hours_a_delivery_gives_up,
    a_resend_after_a_crash_between_log_and_update_records_the_next_attempt,
    a_delivery_whose_webhook_is_gone_is_dropped,
    link_local_receivers_are_always_refused,
    deny_private_refuses_loopback_after_resolution,
);

const HOOKS: &str = "/v1/orgs/default/webhooks";
const SECRET: &str = "a-test-secret-of-some-length";

/// A context whose deliveries run (worker started), retried at once and
/// polled often, so tests wait for conditions, not for backoff.
async fn live(c: &Ctx) -> Ctx {
    let c = c
        .fresh(Settings {
            auth_failures_per_minute: 1_000_000,
            webhook_retry_base: 0,
            webhook_poll: Duration::from_millis(50),
            ..Settings::default()
        })
        .await;
    sigil_server::jobs::delivery::spawn(c.state.clone());
    c
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn header(&self, h: &str) -> &str {
        self.headers[h].to_str().unwrap()
    }
}

/// A webhook receiver on 127.0.0.1: records every request; answers the
/// queued statuses first (then 200), or hangs when `hang` is set.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    hang: bool,
}

impl Receiver {
    async fn start(self) -> (Self, String) {
        let r = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = r.clone();
                async move {
                    r.got.lock().unwrap().push(Got { headers, body });
                    if r.hang {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    let mut q = r.statuses.lock().unwrap();
                    let s = if q.is_empty() { 200 } else { q.remove(0) };
                    StatusCode::from_u16(s).unwrap()
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (self, url)
    }

    fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    fn of_type(&self, ty: &str) -> Vec<Got> {
        self.all()
            .into_iter()
            .filter(|g| g.header("sigil-event") == ty)
            .collect()
    }

    /// Waits (at most 10 s) until `n` requests of type `ty` arrived.
    async fn wait_for(&self, ty: &str, n: usize) -> Vec<Got> {
        for _ in 0..1000 {
            let got = self.of_type(ty);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{ty}: expected {n} deliveries within 10s; got {:?}",
            self.all()
                .iter()
                .map(|g| g.header("sigil-event").to_string())
                .collect::<Vec<_>>()
        );
    }
}

async fn hook(c: &Ctx, url: &str, events: &[&str]) -> Value {
    let (s, v) = c
        .post(
            HOOKS,
            &c.owner,
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Recomputes `Sigil-Signature` with the secret, as a receiver would.
fn check_signature(g: &Got) {
    check_signature_with(g, SECRET)
}

fn check_signature_with(g: &Got, secret: &str) {
    let sig = g.header("sigil-signature");
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|r| r.split_once(",v1="))
        .unwrap_or_else(|| panic!("malformed signature {sig}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", g.body).as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "signature of {}", g.body);
    // And Standard Webhooks': over "<webhook-id>.<webhook-timestamp>.<body>",
    // base64, keyed by the secret's bytes (it is not base64 here).
    use base64::Engine;
    let (id, ts) = (g.header("webhook-id"), g.header("webhook-timestamp"));
    assert_eq!(id, g.header("sigil-delivery"));
    assert_eq!(ts, t);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{id}.{ts}.{}", g.body).as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(g.header("webhook-signature"), format!("v1,{want}"));
}

async fn the_secret_is_answered_once(c: Ctx) {
    let (s, v) = c
        .post(
            HOOKS,
            &c.owner,
            json!({"url": "https://hooks.example.com/sigil", "description": "pager"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["secret"].as_str().unwrap().to_string();
    // `whsec_` and the base64 of 32 bytes: what Standard Webhooks libraries take.
    use base64::Engine;
    let raw = secret.strip_prefix("whsec_").unwrap_or_default();
    let key = base64::engine::general_purpose::STANDARD.decode(raw);
    assert_eq!(key.map(|k| k.len()).ok(), Some(32), "{secret}");
    assert_eq!(v["events"], json!(["*"]));
    assert_eq!(v["org"], "default");
    let id = v["id"].as_str().unwrap();
    let one = format!("{HOOKS}/{id}");

    let (s, view) = c.get(&one, &c.owner).await;
    assert_eq!(s, StatusCode::OK);
    assert!(view.get("secret").is_none(), "{view}");
    assert_eq!(view["description"], "pager");
    let (_, list) = c.get(HOOKS, &c.owner).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret));

    let (s, v) = c
        .patch(&one, json!({"events": ["token.revoked", "token.issued"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["events"], json!(["token.revoked", "token.issued"]));
    assert!(v.get("secret").is_none());

    // Neither the audit log nor the database holds the secret in clear.
    let (_, audit) = c.get("/v1/orgs/default/audit?limit=100", &c.owner).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"webhook.create") && actions.contains(&"webhook.update"));
    assert!(!audit.to_string().contains(&secret));
    assert!(!c.database_text().await.contains(&secret));

    let (s, _) = c.delete(&one).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(c.status(&one, &c.owner).await, StatusCode::NOT_FOUND);
}

/// `PATCH` with `secret` replaces the signing secret at once (what
/// Terraform's `secret_wo_version` bump sends); a bad one changes nothing, and
/// the secret is never answered nor stored in clear.
async fn a_patched_secret_signs_from_then_on(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver::default().start().await;
    let h = hook(&c, &url, &["key.rotated"]).await;
    let one = format!("{HOOKS}/{}", h["id"].as_str().unwrap());
    let test = format!("{one}/test");
    const NEW: &str = "the-second-secret-of-some-length";

    let (s, v) = c.patch(&one, json!({"secret": NEW})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v.get("secret").is_none() && !v.to_string().contains(NEW),
        "{v}"
    );
    let (s, v) = c.post(&test, &c.owner, json!({})).await;
    assert_eq!((s, &v["result"]), (StatusCode::OK, &json!("delivered")));
    check_signature_with(&rx.of_type("webhook.test")[0], NEW);

    let (s, v) = c.patch(&one, json!({"secret": "short"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(field(&v), "secret");
    let (s, _) = c.post(&test, &c.owner, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    check_signature_with(&rx.of_type("webhook.test")[1], NEW);

    let (_, audit) = c.get("/v1/orgs/default/audit?limit=100", &c.owner).await;
    assert!(
        audit.to_string().contains("\"secret_rotated\":true"),
        "{audit}"
    );
    assert!(!audit.to_string().contains(NEW));
    assert!(!c.database_text().await.contains(NEW));
}

async fn bad_input_is_400_naming_the_field(c: Ctx) {
    for (body, f) in [
        (json!({"url": "ftp://hooks.example.com"}), "url"),
        (json!({"url": "https://"}), "url"),
        (
            json!({"url": "https://h.example", "events": ["token.nope"]}),
            "events",
        ),
        (json!({"url": "https://h.example", "events": []}), "events"),
        (
            json!({"url": "https://h.example", "secret": "short"}),
            "secret",
        ),
    ] {
        let (s, v) = c.post(HOOKS, &c.owner, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(field(&v), f, "{body}: {v}");
    }
    let (s, v) = c
        .patch("/v1/orgs/default", json!({"expiry_warning": "soon"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(field(&v), "expiry_warning");
    // Well-formed but zero: the OpenAPI document allows it, so 422, not 400.
    let (s, v) = c
        .patch("/v1/orgs/default", json!({"expiry_warning": "0d"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(field(&v), "expiry_warning");
    assert_eq!(
        c.get("/v1/orgs/default", &c.owner).await.1["expiry_warning"],
        14 * 86_400,
        "nothing changed"
    );
    // A bot without `webhooks` rights cannot see them.
    let t = c.bot_token("steve", &["bots:list:*"]).await;
    assert_eq!(c.status(HOOKS, &t).await, StatusCode::FORBIDDEN);
}

async fn each_event_type_arrives_signed(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver::default().start().await;
    hook(&c, &url, &["*"]).await;

    c.bot("steve", &["bots:list:*"]).await;
    let (id, jwt) = c.issue("steve").await;
    assert_eq!(c.revoke(&id).await.0, StatusCode::OK);
    let (_, leaked) = c.issue("steve").await;
    let (s, _) = c
        .call(
            "POST",
            "/v1/leaks",
            None,
            Some(json!({"tokens": [leaked], "source": "https://paste.example/1"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, v) = c.post("/v1/keys/rotate", &c.owner, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        c.delete("/v1/orgs/default/bots/steve").await.0,
        StatusCode::NO_CONTENT
    );

    let created = rx.wait_for("bot.created", 1).await;
    assert_eq!(created[0].json()["data"]["username"], "steve");
    // Deliveries run side by side: no order among them is promised.
    let issued = rx.wait_for("token.issued", 2).await;
    assert!(issued
        .iter()
        .any(|g| g.json()["data"]["token_id"] == id.as_str()));
    let revoked = rx.wait_for("token.revoked", 2).await;
    assert!(revoked
        .iter()
        .any(|g| g.json()["data"]["token_id"] == id.as_str()));
    let leak = rx.wait_for("token.leaked", 1).await;
    assert_eq!(leak[0].json()["data"]["source"], "https://paste.example/1");
    rx.wait_for("key.rotated", 1).await;
    rx.wait_for("bot.deleted", 1).await;

    for g in rx.all() {
        check_signature(&g);
        let e = g.json();
        assert_eq!(e["type"], g.header("sigil-event"));
        assert_eq!(e["org"], "default");
        assert!(e["id"].is_string() && e["created_at"].is_string());
        assert_eq!(g.header("content-type"), "application/json");
        assert!(!g.header("sigil-delivery").is_empty());
        assert!(!g.body.contains(&jwt) && !g.body.contains(&leaked) && !g.body.contains("eyJ"));
    }
}

async fn a_receiver_failing_twice_gets_the_third_attempt(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver {
        statuses: Arc::new(Mutex::new(vec![500, 503])),
        ..Receiver::default()
    }
    .start()
    .await;
    let h = hook(&c, &url, &["bot.created"]).await;
    c.bot("steve", &["bots:list:*"]).await;
    let got = rx.wait_for("bot.created", 3).await;
    // The same delivery id on every attempt, for receivers to deduplicate.
    let ids: Vec<&str> = got.iter().map(|g| g.header("sigil-delivery")).collect();
    assert!(ids.iter().all(|d| *d == ids[0]), "{ids:?}");

    let path = format!("{HOOKS}/{}/deliveries", h["id"].as_str().unwrap());
    let mut log = Value::Null;
    for _ in 0..500 {
        log = c.get(&path, &c.owner).await.1;
        if log["items"].as_array().unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let items = log["items"].as_array().unwrap();
    let shape: Vec<(u64, &str, u64)> = items
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["result"].as_str().unwrap(),
                a["status_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (3, "delivered", 200),
            (2, "failed", 503),
            (1, "failed", 500)
        ],
        "{log}"
    );
    assert!(items[1]["next_attempt_at"].is_string());
    assert_eq!(items[0]["event_type"], "bot.created");
    assert_eq!(items[0]["id"], ids[0]);
    // Only the first page when asked for one.
    let (_, page) = c.get(&format!("{path}?limit=2"), &c.owner).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next_cursor"].is_string(), "{page}");
}

async fn a_hanging_receiver_never_slows_the_api(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver {
        hang: true,
        ..Receiver::default()
    }
    .start()
    .await;
    hook(&c, &url, &["*"]).await;
    c.bot("steve", &["bots:list:*"]).await;
    rx.wait_for("bot.created", 1).await;
    // The receiver holds that request; every slot fills, the API answers.
    for i in 0..12 {
        let answered = tokio::time::timeout(Duration::from_secs(2), c.issue("steve")).await;
        assert!(answered.is_ok(), "issue {i} waited on the receiver");
    }
}

async fn test_delivers_now_and_answers_the_attempt(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver::default().start().await;
    let h = hook(&c, &url, &["key.rotated"]).await;
    let (s, v) = c
        .post(
            &format!("{HOOKS}/{}/test", h["id"].as_str().unwrap()),
            &c.owner,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "delivered");
    assert_eq!(v["status_code"], 200);
    assert_eq!(v["attempt"], 1);
    assert_eq!(v["event_type"], "webhook.test");
    let got = rx.of_type("webhook.test");
    assert_eq!(got.len(), 1);
    check_signature(&got[0]);
    assert_eq!(got[0].header("sigil-delivery"), v["id"].as_str().unwrap());
}

async fn expiry_warnings_fire_once_each(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver::default().start().await;
    hook(&c, &url, &["token.expiring", "token.expired"]).await;
    let (s, v) = c
        .patch("/v1/orgs/default", json!({"expiry_warning": "1h"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["expiry_warning"], 3600);
    assert_eq!(
        c.get("/v1/orgs/default", &c.owner).await.1["expiry_warning"],
        3600
    );
    c.bot("steve", &["bots:list:*"]).await;
    let (id, _) = c
        .issue_with(json!({"owner": "steve", "expiry": "3h"}))
        .await;
    let (gone, _) = c
        .issue_with(json!({"owner": "steve", "expiry": "3h"}))
        .await;
    assert_eq!(c.revoke(&gone).await.0, StatusCode::OK);
    let scan = || sigil_server::jobs::expiry::scan(&c.state);

    // Outside the window: nothing.
    assert_eq!(scan().await.unwrap(), 0);
    c.advance(2 * 3600 + 1);
    // Inside it: once, however many scans (replicas) look.
    assert_eq!(scan().await.unwrap(), 1);
    assert_eq!(scan().await.unwrap(), 0);
    let got = rx.wait_for("token.expiring", 1).await;
    assert_eq!(got[0].json()["data"]["token_id"], id.as_str());
    c.advance(3600);
    assert_eq!(scan().await.unwrap(), 1);
    assert_eq!(scan().await.unwrap(), 0);
    let got = rx.wait_for("token.expired", 1).await;
    assert_eq!(got[0].json()["data"]["token_id"], id.as_str());
    assert_eq!(rx.of_type("token.expiring").len(), 1);
    // The revoked token was never announced.
    assert!(!rx.all().iter().any(|g| g.body.contains(&gone)));
}

async fn metrics_count_expiring_tokens_and_deliveries(c: Ctx) {
    let c = live(&c).await;
    let (rx, url) = Receiver::default().start().await;
    hook(&c, &url, &["bot.created"]).await;
    c.bot("steve", &["bots:list:*"]).await;
    rx.wait_for("bot.created", 1).await;
    c.issue_with(json!({"owner": "steve", "expiry": "10d"}))
        .await;
    c.issue_with(json!({"owner": "steve", "expiry": "20d"}))
        .await;
    let mut text = String::new();
    for _ in 0..500 {
        text = c.public("/metrics").await.1.as_str().unwrap().to_string();
        if text.contains("sigil_webhook_deliveries_total{result=\"delivered\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for line in [
        "sigil_webhook_deliveries_total{result=\"delivered\"} 1",
        "sigil_webhook_deliveries_total{result=\"gave_up\"} 0",
        // The owner's bootstrap token (1 day) and the two above.
        "sigil_tokens_expiring{org=\"default\",within=\"7d\"} 1",
        "sigil_tokens_expiring{org=\"default\",within=\"14d\"} 2",
        "sigil_tokens_expiring{org=\"default\",within=\"30d\"} 3",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
}

async fn the_delivery_log_is_kept_30_days(c: Ctx) {
    use sigil_server::store::{prune_deliveries, DELIVERY_LOG_RETENTION};
    let c = live(&c).await;
    // A reader whose token outlives the owner's (1 day).
    c.bot("watcher", &["webhooks:get:*"]).await;
    let (_, reader) = c
        .issue_with(json!({"owner": "watcher", "expiry": "90d"}))
        .await;
    let (rx, url) = Receiver::default().start().await;
    let h = hook(&c, &url, &["bot.created"]).await;
    let path = format!("{HOOKS}/{}/deliveries", h["id"].as_str().unwrap());
    c.bot("steve", &["bots:list:*"]).await;
    rx.wait_for("bot.created", 1).await;
    let logged = |v: Value| v["items"].as_array().unwrap().len();
    let prune = || prune_deliveries(&c.state.store.pool, c.state.now() - DELIVERY_LOG_RETENTION);
    for _ in 0..500 {
        if logged(c.get(&path, &reader).await.1) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.advance(DELIVERY_LOG_RETENTION - 60);
    prune().await.unwrap();
    assert_eq!(logged(c.get(&path, &reader).await.1), 1);
    c.advance(120);
    prune().await.unwrap();
    assert_eq!(logged(c.get(&path, &reader).await.1), 0);
}

async fn a_dead_replicas_claim_lapses_and_another_delivers(c: Ctx) {
    // No worker running: this test polls by hand.
    let (rx, url) = Receiver::default().start().await;
    hook(&c, &url, &["bot.created"]).await;
    c.bot("steve", &["bots:list:*"]).await;
    let mut conn = c.state.store.pool.acquire().await.unwrap();
    let id: String = sqlx::Row::get(
        &sqlx::query("SELECT id FROM deliveries")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        "id",
    );
    let id = uuid::Uuid::parse_str(&id).unwrap();
    // Another replica took it, then died before recording an attempt.
    let now = c.state.now();
    assert!(
        sigil_server::store::claim_delivery(&mut conn, id, "dead-replica", now)
            .await
            .unwrap()
    );
    drop(conn);
    let poll = || sigil_server::jobs::delivery::poll(&c.state);
    assert_eq!(poll().await.unwrap(), 0, "a live claim is respected");
    c.advance(sigil_server::store::CLAIM_SECS + 1);
    assert_eq!(poll().await.unwrap(), 1, "a lapsed claim is taken over");
    let got = rx.wait_for("bot.created", 1).await;
    assert_eq!(got[0].header("sigil-delivery"), id.to_string());
}

async fn after_24_hours_a_delivery_gives_up(c: Ctx) {
    let c = live(&c).await;
    // The owner's token lives a day: a reader that outlives the wait.
    c.bot("watcher", &["webhooks:get:*"]).await;
    let (_, reader) = c
        .issue_with(json!({"owner": "watcher", "expiry": "90d"}))
        .await;
    let (rx, url) = Receiver {
        statuses: Arc::new(Mutex::new(vec![500; 10_000])),
        ..Receiver::default()
    }
    .start()
    .await;
    let h = hook(&c, &url, &["bot.created"]).await;
    let path = format!("{HOOKS}/{}/deliveries?limit=1", h["id"].as_str().unwrap());
    c.bot("steve", &["bots:list:*"]).await;
    rx.wait_for("bot.created", 2).await;
    c.advance(24 * 3600 + 1);
    let mut last = Value::Null;
    for _ in 0..500 {
        last = c.get(&path, &reader).await.1["items"][0].clone();
        if last["result"] == "gave_up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(last["result"], "gave_up", "{last}");
    assert_eq!(last["status_code"], 500);
    assert!(last["next_attempt_at"].is_null());
    let n = rx.of_type("bot.created").len();
    // No attempt after giving up.
    assert_eq!(
        sigil_server::jobs::delivery::poll(&c.state).await.unwrap(),
        0
    );
    assert_eq!(rx.of_type("bot.created").len(), n);
    // Counted once the attempt is recorded.
    let want = "sigil_webhook_deliveries_total{result=\"gave_up\"} 1";
    let mut text = String::new();
    for _ in 0..500 {
        text = c.public("/metrics").await.1.as_str().unwrap().to_string();
        if text.contains(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(text.contains(want), "{text}");
}

/// The id of the only delivery (tests that create exactly one).
async fn only_delivery(c: &Ctx) -> uuid::Uuid {
    let mut conn = c.state.store.pool.acquire().await.unwrap();
    let id: String = sqlx::Row::get(
        &sqlx::query("SELECT id FROM deliveries")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        "id",
    );
    uuid::Uuid::parse_str(&id).unwrap()
}

/// Waits (at most 5 s) until the webhook's log holds `n` attempts; answers them.
async fn log_of(c: &Ctx, hook_id: &str, n: usize) -> Vec<Value> {
    let path = format!("{HOOKS}/{hook_id}/deliveries");
    let mut items = Vec::new();
    for _ in 0..500 {
        items = c.get(&path, &c.owner).await.1["items"]
            .as_array()
            .unwrap()
            .clone();
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} attempts in the log within 5s; got {items:?}");
}

async fn a_resend_after_a_crash_between_log_and_update_records_the_next_attempt(c: Ctx) {
    // No worker running: this test polls by hand.
    let (rx, url) = Receiver::default().start().await;
    let h = hook(&c, &url, &["bot.created"]).await;
    let hook_id = h["id"].as_str().unwrap().to_string();
    c.bot("steve", &["bots:list:*"]).await;
    let id = only_delivery(&c).await;
    // Another replica took it, sent it, logged attempt 1, and died before
    // moving the delivery on: the delivery is still pending, 0 attempts.
    let now = c.state.now();
    let mut conn = c.state.store.pool.acquire().await.unwrap();
    assert!(
        sigil_server::store::claim_delivery(&mut conn, id, "dead-replica", now)
            .await
            .unwrap()
    );
    sqlx::query(
        "INSERT INTO delivery_attempts (id, delivery_id, webhook_id, attempt, result, status_code, error, duration_ms, attempted_at, next_attempt_at) \
         VALUES ($1, $2, $3, 1, 'failed', 500, 'the receiver answered 500', 3, $4, NULL)",
    )
    .bind("00000000-0000-7000-8000-000000000001")
    .bind(id.to_string())
    .bind(&hook_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let poll = || sigil_server::jobs::delivery::poll(&c.state);
    c.advance(sigil_server::store::CLAIM_SECS + 1);
    assert_eq!(poll().await.unwrap(), 1, "a lapsed claim is taken over");
    rx.wait_for("bot.created", 1).await;
    let log = log_of(&c, &hook_id, 2).await;
    let shape: Vec<(u64, &str)> = log
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(shape, vec![(2, "delivered"), (1, "failed")], "{log:?}");
    // Delivered once and done: nothing left to send, now or later.
    c.advance(3600);
    assert_eq!(poll().await.unwrap(), 0);
    assert_eq!(rx.of_type("bot.created").len(), 1);
}

async fn a_delivery_whose_webhook_is_gone_is_dropped(c: Ctx) {
    // No worker running: this test polls by hand.
    let (rx, url) = Receiver::default().start().await;
    let h = hook(&c, &url, &["bot.created"]).await;
    c.bot("steve", &["bots:list:*"]).await;
    let id = only_delivery(&c).await;
    // The webhook was deleted while the event's transaction was open: its
    // delivery is left behind.
    sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(h["id"].as_str().unwrap())
        .execute(&c.state.store.pool)
        .await
        .unwrap();
    let poll = || sigil_server::jobs::delivery::poll(&c.state);
    assert_eq!(poll().await.unwrap(), 1);
    let left = || async {
        let n: i64 = sqlx::Row::get(
            &sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(&c.state.store.pool)
                .await
                .unwrap(),
            "n",
        );
        n
    };
    for _ in 0..500 {
        if left().await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(left().await, 0, "the orphan delivery is dropped");
    // Not claimed again, ever.
    c.advance(sigil_server::store::CLAIM_SECS + 1);
    assert_eq!(poll().await.unwrap(), 0);
    assert!(rx.all().is_empty());
}

async fn link_local_receivers_are_always_refused(c: Ctx) {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://[fe80::1]/hook",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:8080/hook",
        "http://[::]/hook",
        // A zone id names an interface of the server (RFC 6874 spelling).
        "http://[fe80::1%25eth0]/",
        "http://[::ffff:169.254.169.254%25lo]/",
    ] {
        let (s, v) = c.post(HOOKS, &c.owner, json!({"url": url})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert_eq!(field(&v), "url", "{url}: {v}");
        assert!(v.to_string().contains("address not allowed"), "{url}: {v}");
    }
    // Loopback and private receivers are fine by default (internal ones).
    let (_, url) = Receiver::default().start().await;
    let h = hook(&c, &url, &["bot.created"]).await;
    let one = format!("{HOOKS}/{}", h["id"].as_str().unwrap());
    let (s, v) = c.patch(&one, json!({"url": "http://10.1.2.3/hook"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = c
        .patch(&one, json!({"url": "http://169.254.169.254/"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(field(&v), "url");
    assert_eq!(c.get(&one, &c.owner).await.1["url"], "http://10.1.2.3/hook");
}

async fn deny_private_refuses_loopback_after_resolution(c: Ctx) {
    let c = c
        .fresh(Settings {
            auth_failures_per_minute: 1_000_000,
            webhook_retry_base: 0,
            webhook_poll: Duration::from_millis(50),
            webhook_deny_private: true,
            ..Settings::default()
        })
        .await;
    let (rx, url) = Receiver::default().start().await;
    // A literal loopback address: refused at once.
    let (s, v) = c.post(HOOKS, &c.owner, json!({"url": url})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(field(&v), "url");
    // A name is checked when resolved, at each attempt.
    let named = url.replace("127.0.0.1", "localhost");
    let h = hook(&c, &named, &["bot.created"]).await;
    let (s, v) = c
        .post(
            &format!("{HOOKS}/{}/test", h["id"].as_str().unwrap()),
            &c.owner,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Given up at once: no retries against a refused address.
    assert_eq!(v["result"], "gave_up", "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("address not allowed: "),
        "{v}"
    );
    assert!(v["next_attempt_at"].is_null(), "{v}");
    assert!(rx.all().is_empty());
}
