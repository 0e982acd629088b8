//! Every forged or invalid token of SPEC §3 is refused with 401 — and the
//! refusal does not depend on which route is asked.

use crate::{both, code, msg, Ctx};
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sigil_server::domain::jwt::{self, Payload};
use sigil_server::domain::keys::{generate_signing_key, LoadedKey, MasterKey};
use sigil_server::state::Settings;

both!(
    forged_tokens_are_refused,
    time_bounds_have_zero_leeway,
    revoked_deleted_shrunk,
    other_org_and_other_app,
    rate_limit_on_failures,
    forwarded_for_only_behind_a_trusted_proxy
);

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn parts(t: &str) -> (Value, Value, String) {
    let p: Vec<&str> = t.split('.').collect();
    let h = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p[0]).unwrap()).unwrap();
    let b = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p[1]).unwrap()).unwrap();
    (h, b, p[2].to_string())
}

async fn refused(c: &Ctx, token: &str, why: &str) {
    for path in ["/v1/whoami", "/v1/orgs/default/bots"] {
        let (s, v) = c.get(path, token).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{why} on {path}: {v}");
        assert!(
            token.len() < 8 || !msg(&v).contains(token),
            "the error must not echo the token"
        );
    }
}

/// The real payload of a token, re-signed with `key`.
fn resign(key: &LoadedKey, payload: &Value) -> String {
    let p: Payload = serde_json::from_value(payload.clone()).unwrap();
    jwt::sign(key, &p).unwrap().expose().to_string()
}

async fn forged_tokens_are_refused(c: Ctx) {
    let good = c.bot_token("steve", &["*:*:*"]).await;
    assert_eq!(c.get("/v1/whoami", &good).await.0, StatusCode::OK);
    let (h, body, sig) = parts(&good);
    let jwks = c.public("/.well-known/jwks.json").await.1;
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_string();

    // alg: none, with and without a signature.
    let none = json!({"alg": "none", "typ": "JWT", "kid": h["kid"]});
    refused(&c, &format!("{}.{}.", b64(&none), b64(&body)), "alg none").await;
    refused(
        &c,
        &format!("{}.{}.{sig}", b64(&none), b64(&body)),
        "alg none with sig",
    )
    .await;

    // HMAC with the public key as the secret (the classic confusion attack).
    for secret in [x.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(&x).unwrap()] {
        let mut hdr = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hdr.kid = h["kid"].as_str().map(str::to_string);
        let t = jsonwebtoken::encode(
            &hdr,
            &body,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap();
        refused(&c, &t, "HS256 with the public key").await;
    }

    // Unknown kid.
    let mut h2 = h.clone();
    h2["kid"] = json!("no-such-key");
    refused(
        &c,
        &format!("{}.{}.{sig}", b64(&h2), b64(&body)),
        "unknown kid",
    )
    .await;
    // No kid at all.
    let mut h3 = h.clone();
    h3.as_object_mut().unwrap().remove("kid");
    refused(&c, &format!("{}.{}.{sig}", b64(&h3), b64(&body)), "no kid").await;

    // A foreign key: a valid EdDSA signature by a key we never issued, claiming our kid.
    let m = MasterKey::generate();
    let nk = generate_signing_key(&m).unwrap();
    let mut foreign = LoadedKey::load(&m, &nk.kid, &nk.public_x, &nk.private_sealed, 0, 0).unwrap();
    refused(&c, &resign(&foreign, &body), "foreign key, own kid").await;
    foreign.kid = h["kid"].as_str().unwrap().to_string();
    let t = resign(&foreign, &body);
    assert_eq!(parts(&t).0["kid"], h["kid"]);
    refused(&c, &t, "foreign key with our kid").await;

    // Tampered payload: more claims, same signature.
    let mut tampered = body.clone();
    tampered["claims"] = json!(["*:*:*", "keys:*:*"]);
    tampered["exp"] = json!(body["exp"].as_i64().unwrap() + 1_000_000);
    refused(
        &c,
        &format!("{}.{}.{sig}", b64(&h), b64(&tampered)),
        "tampered payload",
    )
    .await;
    // Truncated and garbage.
    refused(&c, &good[..good.len() - 3], "truncated signature").await;
    refused(&c, "not.a.jwt", "garbage").await;
    refused(&c, "", "empty").await;
    // The real key, but a payload whose jti is unknown.
    let key = c.state.signing_key().unwrap();
    let mut unknown = body.clone();
    unknown["jti"] = json!(uuid::Uuid::new_v4().to_string());
    refused(&c, &resign(&key, &unknown), "unknown jti").await;
    // Wrong issuer, signed with our own key.
    let mut iss = body.clone();
    iss["iss"] = json!("https://evil.example");
    refused(&c, &resign(&key, &iss), "wrong issuer").await;
    // Someone else's sub on a real jti.
    let mut sub = body.clone();
    sub["sub"] = json!(uuid::Uuid::new_v4().to_string());
    refused(&c, &resign(&key, &sub), "sub does not match the token row").await;
    // Missing `Bearer`.
    let (s, _) = c.public("/v1/whoami").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // After all that, the real one still works.
    assert_eq!(c.get("/v1/whoami", &good).await.0, StatusCode::OK);
}

async fn time_bounds_have_zero_leeway(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (_, t) = c
        .issue_with(json!({"owner": "steve", "expiry": "60s"}))
        .await;
    c.advance(59);
    assert_eq!(c.get("/v1/whoami", &t).await.0, StatusCode::OK);
    c.advance(1);
    let (s, v) = c.get("/v1/whoami", &t).await;
    assert_eq!(
        (s, msg(&v)),
        (StatusCode::UNAUTHORIZED, "the bearer token has expired")
    );
    // Not yet valid: our key, a real row, nbf one second ahead.
    let (_, t) = c.issue("steve").await;
    let (_, mut body, _) = parts(&t);
    let now = c.state.now();
    body["nbf"] = json!(now + 1);
    let key = c.state.signing_key().unwrap();
    let early = resign(&key, &body);
    let (s, v) = c.get("/v1/whoami", &early).await;
    assert_eq!(
        (s, msg(&v)),
        (
            StatusCode::UNAUTHORIZED,
            "the bearer token is not valid yet"
        )
    );
    c.advance(1);
    assert_eq!(c.get("/v1/whoami", &early).await.0, StatusCode::OK);
}

async fn revoked_deleted_shrunk(c: Ctx) {
    c.bot("steve", &["bots:get,list:*", "apps:list:*"]).await;
    let (id, t) = c.issue("steve").await;
    let (_, t2) = c.issue("steve").await;
    assert_eq!(c.get("/v1/orgs/default/apps", &t).await.0, StatusCode::OK);
    // Shrinking the bot shrinks its tokens at once.
    let (s, _) = c
        .patch(
            "/v1/orgs/default/bots/steve",
            json!({"permissions": ["bots:get,list:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        c.get("/v1/orgs/default/apps", &t).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(c.get("/v1/orgs/default/bots", &t).await.0, StatusCode::OK);
    let (_, me) = c.get("/v1/whoami", &t).await;
    assert_eq!(me["claims"], json!(["bots:get,list:*"]));
    // Growing the bot back does not grow beyond what the token was issued with.
    c.patch(
        "/v1/orgs/default/bots/steve",
        json!({"permissions": ["*:*:*"]}),
    )
    .await;
    assert_eq!(c.get("/v1/orgs/default/apps", &t).await.0, StatusCode::OK);
    assert_eq!(
        c.call("POST", "/v1/keys/rotate", Some(&t), Some(json!({})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Revoked.
    c.delete(&format!("/v1/orgs/default/tokens/{id}")).await;
    refused(&c, &t, "revoked").await;
    // Owner deleted: its other token dies with it, in the same transaction.
    assert_eq!(
        c.delete("/v1/orgs/default/bots/steve").await.0,
        StatusCode::NO_CONTENT
    );
    refused(&c, &t2, "owner deleted").await;
}

async fn other_org_and_other_app(c: Ctx) {
    let acme = c.org_token("acme", &["*:*:*"]).await;
    let (id, _) = c.issue("owner@sigil.local").await;
    // Even with *:*:* in its own org, default's objects are not there for it.
    for (m, path) in [
        ("GET", format!("/v1/orgs/default/tokens/{id}")),
        ("DELETE", format!("/v1/orgs/default/tokens/{id}")),
        ("GET", "/v1/orgs/default/audit".into()),
    ] {
        let (s, _) = c.call(m, &path, Some(&acme), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}");
    }
    // Asking for default's token under acme's path finds nothing either.
    assert_eq!(
        c.get(&format!("/v1/orgs/acme/tokens/{id}"), &acme).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, v) = c
        .get(&format!("/v1/orgs/default/tokens/{id}"), &c.owner)
        .await;
    assert_eq!(v["status"], "active", "nothing was revoked");
    // Other app.
    c.app("web").await;
    c.app("api").await;
    let web = c.app_token("svc", "web").await;
    let (api_id, _) = c.issue_with(json!({"owner": "svc", "app": "api"})).await;
    assert_eq!(
        c.get(&format!("/v1/orgs/default/tokens/{api_id}"), &web)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.delete_as(&format!("/v1/orgs/default/tokens/{api_id}"), &web)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/v1/orgs/default/tokens?app=api", &web).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn rate_limit_on_failures(c: Ctx) {
    let c = c
        .fresh(Settings {
            auth_failures_per_minute: 3,
            ..Default::default()
        })
        .await;
    for _ in 0..3 {
        assert_eq!(c.get("/v1/whoami", "bad").await.0, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = c.get("/v1/whoami", "bad").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    // A valid token still gets in: the address may be a proxy shared with the attacker.
    assert_eq!(c.status("/v1/whoami", &c.owner).await, StatusCode::OK);
    c.advance(60);
    assert_eq!(
        c.get("/v1/whoami", "bad").await.0,
        StatusCode::UNAUTHORIZED,
        "a new window"
    );
}

/// A refused request from `xff` (the `X-Forwarded-For` header); answers the status.
async fn from(c: &Ctx, xff: &str) -> StatusCode {
    let mut req = c.request("GET", "/v1/whoami", Some("bad"), None);
    req.headers_mut()
        .insert("x-forwarded-for", xff.parse().unwrap());
    c.send(req).await.0
}

async fn forwarded_for_only_behind_a_trusted_proxy(c: Ctx) {
    // Behind a trusted proxy, the proxy-appended address is the client.
    let proxied = c
        .fresh(Settings {
            auth_failures_per_minute: 2,
            trust_forwarded_for: true,
            ..Default::default()
        })
        .await;
    for _ in 0..2 {
        assert_eq!(
            from(&proxied, "6.6.6.6, 10.0.0.1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        from(&proxied, "10.0.0.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        from(&proxied, "10.0.0.2").await,
        StatusCode::UNAUTHORIZED,
        "another client is not limited"
    );
    // A spoofed first entry does not dodge the limit: only the last one counts.
    assert_eq!(
        from(&proxied, "1.2.3.4, 10.0.0.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    drop(proxied);
    // Without the flag the header is the client's own word: ignored.
    let direct = c
        .fresh(Settings {
            auth_failures_per_minute: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(from(&direct, "10.0.0.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(from(&direct, "10.0.0.2").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        from(&direct, "10.0.0.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
