//! SPEC §2 invariants, attacked: no escalation, secrets never at rest in clear.

use crate::{both, code, count, field, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    no_escalation_at_issue,
    no_escalation_when_granting,
    secrets_never_rest,
    wide_claims_stay_cheap,
    concurrent_issue_with_one_key
);

async fn no_escalation_at_issue(c: Ctx) {
    // A bot that may issue tokens, but holds only bots:list.
    let issuer = c
        .bot_token("issuer", &["tokens:issue:*", "bots:list:*"])
        .await;
    c.bot("target", &["*:*:*"]).await;
    // It cannot mint for `target` claims it does not hold itself, even though target holds them.
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &issuer,
            json!({"owner": "target", "claims": ["keys:create:*"]}),
        )
        .await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (StatusCode::FORBIDDEN, "escalation", "claims"),
        "{v}"
    );
    // Nor by default (the owner's *:*:* exceeds the creator's rights).
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &issuer,
            json!({"owner": "target"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "escalation"));
    // It can mint what both hold.
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &issuer,
            json!({"owner": "target", "claims": ["bots:list:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Beyond the owner: refused even for the all-powerful owner.
    c.bot("small", &["bots:list:*"]).await;
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "small", "claims": ["bots:list,delete:*"]}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "claims_exceed_owner")
    );
    // Claims covered only through a union are fine; `*` is not covered by lists.
    c.bot("union", &["machines:get:*", "machines:list:*"]).await;
    assert_eq!(
        c.post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "union", "claims": ["machines:get,list:*"]})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        c.post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "union", "claims": ["machines:*:*"]})
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A token's rights are capped by its creator's at use time too: whoami shows claims ∩ owner.
    let (_, v) = c.get("/v1/whoami", &issuer).await;
    assert_eq!(v["claims"], json!(["tokens:issue:*", "bots:list:*"]));
}

async fn no_escalation_when_granting(c: Ctx) {
    let admin = c.bot_token("admin", &["bots:*:*", "users:*:*"]).await;
    // Creating a bot with more than the creator holds.
    let (s, v) = c
        .post(
            "/v1/orgs/default/bots",
            &admin,
            json!({"username": "x", "permissions": ["keys:create:*"]}),
        )
        .await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (StatusCode::FORBIDDEN, "escalation", "permissions")
    );
    let (s, v) = c
        .post(
            "/v1/orgs/default/bots",
            &admin,
            json!({"username": "x", "permissions": ["*:*:*"]}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "escalation"));
    let (s, _) = c
        .post(
            "/v1/orgs/default/bots",
            &admin,
            json!({"username": "x", "permissions": ["bots:get:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Raising a bot (including itself) beyond the caller's rights.
    let (s, _) = c
        .patch_as(
            "/v1/orgs/default/bots/x",
            &admin,
            json!({"permissions": ["tokens:issue:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c
        .patch_as(
            "/v1/orgs/default/bots/admin",
            &admin,
            json!({"permissions": ["*:*:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a bot cannot raise itself");
    let (_, v) = c.get("/v1/orgs/default/bots/admin", &c.owner).await;
    assert_eq!(
        v["permissions"],
        json!(["bots:*:*", "users:*:*"]),
        "nothing changed"
    );
    // Users likewise.
    let (s, _) = c
        .post(
            "/v1/orgs/default/users",
            &admin,
            json!({"email": "eve@example.com", "permissions": ["*:*:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Shrinking is always allowed.
    let (s, _) = c
        .patch_as(
            "/v1/orgs/default/bots/x",
            &admin,
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

async fn secrets_never_rest(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (id, jwt) = c.issue("steve").await;
    let text = c.database_text().await;
    assert!(!text.contains(&jwt), "a JWT is stored in clear");
    assert!(
        !text.contains(jwt.split('.').nth(2).unwrap()),
        "a JWT signature is stored"
    );
    assert!(!text.contains(&c.owner), "the bootstrap JWT is stored");
    assert!(text.contains(&id), "sanity: the token's id is stored");
    // The private key is stored sealed: the stored blob does not decode as PKCS#8.
    let mut conn = c.state.store.pool.acquire().await.unwrap();
    let keys = sigil_server::store::all_keys(&mut conn).await.unwrap();
    use base64::Engine;
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    for k in keys {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&k.private_key_enc)
            .unwrap();
        assert!(ed25519_dalek::SigningKey::from_pkcs8_der(&raw).is_err());
        assert!(ed25519_dalek::SigningKey::from_pkcs8_der(&raw[24..]).is_err());
    }
    drop(conn);
    // Lists and views never carry the JWT.
    for path in [
        "/v1/orgs/default/tokens".to_string(),
        format!("/v1/orgs/default/tokens/{id}"),
        "/v1/orgs/default/audit".into(),
        "/v1/orgs/default/bots".into(),
    ] {
        let (_, v) = c.get(&path, &c.owner).await;
        assert!(!v.to_string().contains(&jwt), "{path} shows the JWT");
    }
}

async fn concurrent_issue_with_one_key(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let mk = || {
        let body = json!({"owner": "steve"});
        let mut req = c.request(
            "POST",
            "/v1/orgs/default/tokens",
            Some(&c.owner),
            Some(body),
        );
        req.headers_mut()
            .insert("idempotency-key", "same".parse().unwrap());
        req
    };
    let (a, b) = tokio::join!(c.send(mk()), c.send(mk()));
    assert_eq!(
        (a.0, b.0),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{} {}",
        a.1,
        b.1
    );
    assert_eq!(a.1["id"], b.1["id"]);
    let (_, v) = c.get("/v1/orgs/default/tokens?owner=steve", &c.owner).await;
    assert_eq!(count(&v), 1);
}

/// Claims built so that claims ∩ permissions has 10,000 distinct members: every
/// request with that token must still be answered promptly (no quadratic work
/// per authentication).
async fn wide_claims_stay_cheap(c: Ctx) {
    let perms: Vec<String> = (0..100)
        .map(|k| format!("s{}:a{}:*", k / 10, k % 10))
        .collect();
    c.create("bots", json!({"username": "wide", "permissions": perms}))
        .await;
    let wide = "s0,s1,s2,s3,s4,s5,s6,s7,s8,s9:a0,a1,a2,a3,a4,a5,a6,a7,a8,a9";
    let claims: Vec<String> = (0..100).map(|j| format!("{wide}:x{j}")).collect();
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "wide", "claims": claims}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = v["token"].as_str().unwrap().to_string();
    let start = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(
            c.get("/v1/orgs/default/bots", &t).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let (s, me) = c.get("/v1/whoami", &t).await;
    assert_eq!(s, StatusCode::OK);
    assert!(me["claims"].as_array().unwrap().len() <= sigil_proto::claims::MAX_SHOWN);
    // Generous: a debug build on a loaded 2-core machine; the quadratic version took minutes.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}
