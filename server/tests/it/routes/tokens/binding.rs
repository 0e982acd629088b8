//! Address binding (`allowed_cidrs`) and usage limits (`max_uses`) as a
//! token's holder meets them: the client's address is the TCP peer, or the
//! last `X-Forwarded-For` entry behind `--trust-forwarded-for`; each
//! successful authentication uses one use, exactly, even under concurrency.

use crate::{both, code, Ctx};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use sigil_server::state::Settings;
use std::net::SocketAddr;
use tower::ServiceExt;

both!(
    binding_refuses_outside_its_networks,
    binding_uses_the_last_forwarded_entry,
    binding_reads_ipv4_mapped_peers_as_ipv4,
    binding_refuses_an_unknown_address,
    binding_never_falls_back_to_the_proxy,
    limits_refuse_past_max_uses,
    limits_are_exact_under_concurrency,
    limits_refused_requests_use_nothing,
    limits_uses_never_bump_the_change_head,
    limits_unlimited_tokens_count_in_batches,
    limits_introspection_takes_no_use_and_checks_no_address,
    whoami_of_a_derived_token_names_its_parent,
    introspection_shows_bindings_for_the_resource_server,
);

/// A context behind a trusted proxy (`--trust-forwarded-for`).
async fn proxied(c: &Ctx) -> Ctx {
    c.fresh(Settings {
        auth_failures_per_minute: 1_000_000,
        trust_forwarded_for: true,
        ..Default::default()
    })
    .await
}

/// A token of a new bot `name` issued with `extra` (`allowed_cidrs`,
/// `max_uses`); answers (id, jwt).
async fn token(c: &Ctx, name: &str, extra: Value) -> (String, String) {
    c.bot(name, &["bots:list:*"]).await;
    let mut body = json!({"owner": name});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, v) = c.post("/v1/orgs/default/tokens", &c.owner, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for (k, want) in extra.as_object().unwrap() {
        assert_eq!(&v[k], want, "issue answers {k}: {v}");
    }
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

/// `GET /v1/whoami` with `jwt`, from `xff` (`X-Forwarded-For`) and/or the TCP
/// peer `peer`.
fn whoami(jwt: &str, xff: Option<&str>, peer: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .uri("/v1/whoami")
        .header("authorization", format!("Bearer {jwt}"));
    if let Some(x) = xff {
        b = b.header("x-forwarded-for", x);
    }
    let mut req = b.body(Body::empty()).unwrap();
    if let Some(p) = peer {
        let addr: SocketAddr = p.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    req
}

/// Asserts a 401 `unauthenticated` whose message gives `reason` and never the token.
fn refused(jwt: &str, (s, v): (StatusCode, Value), reason: &str) -> String {
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(code(&v), "unauthenticated", "{v}");
    let msg = v["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains(reason), "{msg}");
    assert!(!v.to_string().contains(jwt), "never the token: {v}");
    msg
}

async fn view(c: &Ctx, id: &str) -> Value {
    let (s, v) = c
        .get(&format!("/v1/orgs/default/tokens/{id}"), &c.owner)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn binding_refuses_outside_its_networks(c: Ctx) {
    let c = proxied(&c).await;
    let (_, jwt) = token(&c, "ci", json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    let (s, v) = c.send(whoami(&jwt, Some("10.1.2.3"), None)).await;
    assert_eq!(s, StatusCode::OK, "inside: {v}");
    // Now warm on this replica: memory answers, and still checks the address.
    let msg = refused(
        &jwt,
        c.send(whoami(&jwt, Some("10.2.0.1"), None)).await,
        "address_not_allowed",
    );
    assert!(msg.contains("10.2.0.1"), "names the address: {msg}");
    assert_eq!(
        c.send(whoami(&jwt, Some("10.1.255.254"), None)).await.0,
        StatusCode::OK
    );
    // An unbound token is accepted from anywhere.
    let (_, free) = token(&c, "free", json!({})).await;
    assert_eq!(
        c.send(whoami(&free, Some("203.0.113.9"), None)).await.0,
        StatusCode::OK
    );
}

async fn binding_uses_the_last_forwarded_entry(c: Ctx) {
    let c = proxied(&c).await;
    let (_, jwt) = token(&c, "ci", json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    // A forged first entry is the client's own word: ignored.
    refused(
        &jwt,
        c.send(whoami(
            &jwt,
            Some("10.1.2.3, 192.0.2.7"),
            Some("10.1.9.9:1"),
        ))
        .await,
        "address_not_allowed",
    );
    assert_eq!(
        c.send(whoami(
            &jwt,
            Some("192.0.2.7, 10.1.2.3"),
            Some("192.0.2.1:1")
        ))
        .await
        .0,
        StatusCode::OK
    );
    // Without `--trust-forwarded-for` the header is ignored: the peer counts.
    let plain = c
        .fresh(Settings {
            auth_failures_per_minute: 1_000_000,
            ..Default::default()
        })
        .await;
    let (_, jwt) = token(&plain, "ci", json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    refused(
        &jwt,
        plain
            .send(whoami(&jwt, Some("10.1.2.3"), Some("192.0.2.7:1")))
            .await,
        "address_not_allowed",
    );
    assert_eq!(
        plain
            .send(whoami(&jwt, Some("192.0.2.7"), Some("10.1.2.3:1")))
            .await
            .0,
        StatusCode::OK
    );
}

async fn binding_reads_ipv4_mapped_peers_as_ipv4(c: Ctx) {
    let (_, jwt) = token(&c, "ci", json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    // A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`.
    assert_eq!(
        c.send(whoami(&jwt, None, Some("[::ffff:10.1.2.3]:4000")))
            .await
            .0,
        StatusCode::OK
    );
    let msg = refused(
        &jwt,
        c.send(whoami(&jwt, None, Some("[::ffff:10.9.9.9]:4000")))
            .await,
        "address_not_allowed",
    );
    assert!(msg.contains("10.9.9.9") && !msg.contains("::ffff"), "{msg}");
    // IPv6 networks bind IPv6 peers.
    let (_, v6) = token(&c, "v6", json!({"allowed_cidrs": ["2001:db8::/32"]})).await;
    assert_eq!(
        c.send(whoami(&v6, None, Some("[2001:db8::7]:1"))).await.0,
        StatusCode::OK
    );
    refused(
        &v6,
        c.send(whoami(&v6, None, Some("[2001:db9::7]:1"))).await,
        "address_not_allowed",
    );
    refused(
        &v6,
        c.send(whoami(&v6, None, Some("10.1.2.3:1"))).await,
        "address_not_allowed",
    );
    // Behind a proxy, a mapped forwarded address too.
    let p = proxied(&c).await;
    let (_, jwt) = token(&p, "ci", json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    assert_eq!(
        p.send(whoami(&jwt, Some("::ffff:10.1.2.3"), None)).await.0,
        StatusCode::OK
    );
}

async fn binding_refuses_an_unknown_address(c: Ctx) {
    // No peer address (the in-process router has no connection): a bound
    // token is refused, an unbound one is not.
    let (_, jwt) = token(&c, "ci", json!({"allowed_cidrs": ["0.0.0.0/0"]})).await;
    refused(
        &jwt,
        c.send(whoami(&jwt, None, None)).await,
        "address_not_allowed",
    );
    assert_eq!(c.status("/v1/whoami", &c.owner).await, StatusCode::OK);
}

async fn limits_refuse_past_max_uses(c: Ctx) {
    let (id, jwt) = token(&c, "once", json!({"max_uses": 3})).await;
    assert_eq!(view(&c, &id).await["uses"], 0);
    for n in 1..=3 {
        let (s, v) = c.get("/v1/whoami", &jwt).await;
        assert_eq!(s, StatusCode::OK, "use {n}: {v}");
        let want = if n == 3 { "exhausted" } else { "active" };
        assert_eq!(v["status"], want, "whoami after use {n}: {v}");
        assert_eq!(view(&c, &id).await["uses"], n);
    }
    refused(&jwt, c.get("/v1/whoami", &jwt).await, "exhausted");
    let v = view(&c, &id).await;
    assert_eq!(v["uses"], 3, "{v}");
    assert_eq!(v["max_uses"], 3, "{v}");
    assert_eq!(v["status"], "exhausted", "{v}");
    // A refused use is not a use.
    refused(&jwt, c.get("/v1/whoami", &jwt).await, "exhausted");
    assert_eq!(view(&c, &id).await["uses"], 3);
}

async fn limits_are_exact_under_concurrency(c: Ctx) {
    let (id, jwt) = token(&c, "burst", json!({"max_uses": 5})).await;
    let calls = (0..20).map(|_| {
        let app = c.app.clone();
        let req = c.request("GET", "/v1/whoami", Some(&jwt), None);
        tokio::spawn(async move { app.oneshot(req).await.unwrap().status() })
    });
    let statuses = futures::future::join_all(calls).await;
    let ok = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == StatusCode::OK)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!((ok, refused), (5, 15), "{statuses:?}");
    let v = view(&c, &id).await;
    assert_eq!(v["uses"], 5, "{v}");
    assert_eq!(v["status"], "exhausted", "{v}");
}

async fn limits_refused_requests_use_nothing(c: Ctx) {
    let c = proxied(&c).await;
    let (id, jwt) = token(
        &c,
        "ci",
        json!({"allowed_cidrs": ["10.1.0.0/16"], "max_uses": 1}),
    )
    .await;
    for _ in 0..3 {
        refused(
            &jwt,
            c.send(whoami(&jwt, Some("192.0.2.7"), None)).await,
            "address_not_allowed",
        );
    }
    assert_eq!(view(&c, &id).await["uses"], 0, "outside: no use taken");
    let (s, v) = c.send(whoami(&jwt, Some("10.1.0.1"), None)).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("exhausted"))
    );
    refused(
        &jwt,
        c.send(whoami(&jwt, Some("10.1.0.1"), None)).await,
        "exhausted",
    );
    // Revoked beats exhausted: a revoked limited token says so.
    let (id2, jwt2) = token(&c, "ci2", json!({"max_uses": 10})).await;
    assert_eq!(c.status("/v1/whoami", &jwt2).await, StatusCode::OK);
    assert_eq!(c.revoke(&id2).await.0, StatusCode::OK);
    refused(&jwt2, c.get("/v1/whoami", &jwt2).await, "revoked");
    assert_eq!(view(&c, &id2).await["uses"], 1);
}

async fn limits_uses_never_bump_the_change_head(c: Ctx) {
    let (_, jwt) = token(&c, "ci", json!({"max_uses": 100})).await;
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    let head = || async {
        let mut conn = c.state.store.pool.acquire().await.unwrap();
        sigil_server::store::change_head(&mut conn).await.unwrap()
    };
    let before = head().await;
    for _ in 0..5 {
        assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    }
    c.state
        .last_use
        .flush_all(&c.state.store, c.state.now())
        .await;
    assert_eq!(head().await, before, "a use is not a change");
    // The memory view survived the uses: still warm.
    let hits = c
        .state
        .verify_cache
        .hits
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    assert!(
        c.state
            .verify_cache
            .hits
            .load(std::sync::atomic::Ordering::Relaxed)
            > hits
    );
}

async fn limits_unlimited_tokens_count_in_batches(c: Ctx) {
    let (id, jwt) = token(&c, "ci", json!({})).await;
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    let v = view(&c, &id).await;
    assert_eq!(v["uses"], 1, "the first (cold) use is written at once: {v}");
    assert!(v["max_uses"].is_null(), "{v}");
    for _ in 0..4 {
        assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    }
    assert_eq!(view(&c, &id).await["uses"], 1, "warm uses write nothing");
    // Counts wait with their last use (a minute at most), then one batch.
    c.state.last_use.flush(&c.state.store, c.state.now()).await;
    assert_eq!(view(&c, &id).await["uses"], 1, "not due yet");
    c.advance(61);
    c.state.last_use.flush(&c.state.store, c.state.now()).await;
    let v = view(&c, &id).await;
    assert_eq!(v["uses"], 5, "{v}");
    assert_eq!(v["status"], "active", "{v}");
    // And on shutdown, whatever is held.
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    assert_eq!(c.status("/v1/whoami", &jwt).await, StatusCode::OK);
    c.state
        .last_use
        .flush_all(&c.state.store, c.state.now())
        .await;
    assert_eq!(view(&c, &id).await["uses"], 7);
}

async fn limits_introspection_takes_no_use_and_checks_no_address(c: Ctx) {
    let (id, jwt) = token(
        &c,
        "ci",
        json!({"allowed_cidrs": ["10.1.0.0/16"], "max_uses": 1}),
    )
    .await;
    let introspect = || async {
        let (s, v) = c
            .form("/v1/introspect", Some(&c.owner), &format!("token={jwt}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    };
    // The introspecting server is not the client: no address, no use.
    for _ in 0..3 {
        assert_eq!(introspect().await["active"], true);
    }
    assert_eq!(view(&c, &id).await["uses"], 0);
    assert_eq!(
        c.send(whoami(&jwt, None, Some("10.1.0.1:1"))).await.0,
        StatusCode::OK
    );
    // Used up: inactive.
    assert_eq!(introspect().await["active"], false);
}

async fn whoami_of_a_derived_token_names_its_parent(c: Ctx) {
    let (id, parent) = token(&c, "ci", json!({})).await;
    let (s, v) = c.get("/v1/whoami", &parent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["parent_id"].is_null(), "{v}");
    let (s, child) = c
        .post(
            "/v1/tokens/attenuate",
            &parent,
            json!({"claims": ["bots:list:*"], "max_uses": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{child}");
    let child_jwt = child["token"].as_str().unwrap();
    let (s, v) = c.get("/v1/whoami", child_jwt).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["parent_id"], id.as_str(), "{v}");
    assert_eq!(v["status"], "active", "{v}");
    let (_, v) = c.get("/v1/whoami", child_jwt).await;
    assert_eq!(v["status"], "exhausted", "{v}");
}

async fn binding_never_falls_back_to_the_proxy(c: Ctx) {
    let c = proxied(&c).await;
    // The proxy (the TCP peer) is inside the token's networks.
    let (_, jwt) = token(&c, "ci", json!({"allowed_cidrs": ["10.1.0.0/16"]})).await;
    let proxy = Some("10.1.0.1:40000");
    // A last entry that is no address is an unknown client, never the proxy.
    for xff in [
        "garbage",
        "10.1.2.3, garbage",
        "10.1.2.3, ",
        "[10.1.2.3]",
        "[2001:db8::1]",
        "10.1.2.3:",
        "10.1.2.3:99999",
    ] {
        let (s, v) = c.send(whoami(&jwt, Some(xff), proxy)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{xff}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("address_not_allowed"),
            "{xff}: {v}"
        );
    }
    // An address with a port is that address (some proxies append one).
    for (xff, ok) in [
        ("10.1.2.3:5678", true),
        ("192.0.2.7, 10.1.2.3:5678", true),
        ("10.2.0.1:5678", false),
    ] {
        let s = c.send(whoami(&jwt, Some(xff), proxy)).await.0;
        assert_eq!(s == StatusCode::OK, ok, "{xff}: {s}");
    }
    let (_, v6) = token(&c, "v6", json!({"allowed_cidrs": ["2001:db8::/32"]})).await;
    assert_eq!(
        c.send(whoami(&v6, Some("[2001:db8::1]:443"), proxy))
            .await
            .0,
        StatusCode::OK
    );
    // Without the header the peer is the client (a direct connection).
    assert_eq!(c.send(whoami(&jwt, None, proxy)).await.0, StatusCode::OK);
}

async fn introspection_shows_bindings_for_the_resource_server(c: Ctx) {
    let (id, jwt) = token(
        &c,
        "ci",
        json!({"allowed_cidrs": ["10.1.0.0/16", "2001:db8::/32"], "max_uses": 3}),
    )
    .await;
    let introspect = |jwt: String| {
        let c = &c;
        async move {
            let (s, v) = c
                .form("/v1/introspect", Some(&c.owner), &format!("token={jwt}"))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    let v = introspect(jwt.clone()).await;
    assert_eq!(
        (
            &v["allowed_cidrs"],
            &v["max_uses"],
            &v["uses"],
            &v["parent_id"]
        ),
        (
            &json!(["10.1.0.0/16", "2001:db8::/32"]),
            &json!(3),
            &json!(0),
            &Value::Null
        ),
        "{v}"
    );
    assert_eq!(
        c.send(whoami(&jwt, None, Some("10.1.0.1:1"))).await.0,
        StatusCode::OK
    );
    assert_eq!(introspect(jwt.clone()).await["uses"], 1);
    // A derived token names its parent and carries its own bindings.
    let mut req = c.request(
        "POST",
        "/v1/tokens/attenuate",
        Some(&jwt),
        Some(json!({"allowed_cidrs": ["10.1.2.0/24"], "max_uses": 1})),
    );
    req.extensions_mut()
        .insert(ConnectInfo("10.1.2.3:1".parse::<SocketAddr>().unwrap()));
    let (s, child) = c.send(req).await;
    assert_eq!(s, StatusCode::CREATED, "{child}");
    let v = introspect(child["token"].as_str().unwrap().to_string()).await;
    assert_eq!(
        (
            &v["allowed_cidrs"],
            &v["max_uses"],
            &v["uses"],
            &v["parent_id"]
        ),
        (&json!(["10.1.2.0/24"]), &json!(1), &json!(0), &json!(id)),
        "{v}"
    );
    // Unbound, unlimited, not derived: none of them (as before).
    let (_, free) = token(&c, "free", json!({})).await;
    let v = introspect(free).await;
    assert_eq!(v["active"], true);
    for k in ["allowed_cidrs", "max_uses", "uses", "parent_id"] {
        assert!(v.get(k).is_none(), "{k}: {v}");
    }
}
