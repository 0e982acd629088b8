//! Security edges (issue 10): one `Authorization` header, `typ: JWT`, no
//! JWT-shaped input echoed in an error, app scope answering 404 for other
//! apps' objects, bounded claim items, the revocation feed filtered before
//! its limit.

use crate::{both, code, column, field, msg, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    two_authorization_headers_are_400,
    a_token_without_typ_jwt_is_refused,
    a_pasted_jwt_never_comes_back_in_an_error,
    stored_texts_refuse_a_pasted_token,
    another_apps_objects_answer_as_missing_ones,
    a_long_claim_item_is_refused_with_the_limit,
    the_feed_filters_by_org_before_the_limit
);

async fn two_authorization_headers_are_400(c: Ctx) {
    let other = c.bot_token("steve", &["*:*:*"]).await;
    // Either order: never "first wins".
    for (a, b) in [(&c.owner, &other), (&other, &c.owner)] {
        let req = axum::http::Request::builder()
            .uri("/v1/whoami")
            .header("authorization", format!("Bearer {a}"))
            .header("authorization", format!("Bearer {b}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let (s, v) = c.send(req).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!((code(&v), field(&v)), ("invalid_input", "authorization"));
    }
}

async fn a_token_without_typ_jwt_is_refused(c: Ctx) {
    let good = c.bot_token("steve", &["*:*:*"]).await;
    let key = c.state.signing_key().unwrap();
    let payload: Value = crate::payload(&good);
    for typ in [None, Some("at+jwt")] {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        h.kid = Some(key.kid.clone());
        h.typ = typ.map(str::to_string);
        let t = jsonwebtoken::encode(&h, &payload, key.encoding.as_ref().unwrap()).unwrap();
        let (s, v) = c.get("/v1/whoami", &t).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "typ {typ:?}: {v}");
        assert!(msg(&v).contains("typ: JWT"), "{v}");
    }
    assert_eq!(c.get("/v1/whoami", &good).await.0, StatusCode::OK);
}

async fn a_pasted_jwt_never_comes_back_in_an_error(c: Ctx) {
    let jwt = c.owner.clone();
    let tail = &jwt[jwt.len() - 20..];
    c.bot("steve", &["*:*:*"]).await;
    let attempts = [
        c.create("tokens", json!({"owner": jwt})).await,
        c.create("tokens", json!({"owner": "steve", "app": jwt}))
            .await,
        c.create("tokens", json!({"owner": "steve", "claims": [jwt]}))
            .await,
        c.create("bots", json!({"username": jwt, "permissions": []}))
            .await,
        c.create("apps", json!({"name": jwt})).await,
        c.get(&format!("/v1/orgs/default/bots/{jwt}"), &c.owner)
            .await,
        c.get(&format!("/v1/orgs/default/tokens?owner={jwt}"), &c.owner)
            .await,
    ];
    for (s, v) in attempts {
        assert!(s.is_client_error(), "{s} {v}");
        let text = v.to_string();
        assert!(!text.contains(tail), "the JWT came back: {text}");
    }
    // Glued to what precedes it, or percent-encoded as a URL carries it.
    let dotted = jwt.replace('.', "%2E");
    for bad in [
        format!("a{jwt}"),
        format!("x%3Ftoken%3D{jwt}"),
        format!("Bearer%20{dotted}"),
    ] {
        for (s, v) in [
            c.create("bots", json!({"username": bad, "permissions": []}))
                .await,
            c.create("tokens", json!({"owner": bad})).await,
        ] {
            assert!(s.is_client_error(), "{s} {v}");
            let text = v.to_string();
            assert!(!text.contains(tail), "the JWT came back: {text}");
            assert!(text.contains("eyJ…<redacted>"), "{text}");
        }
    }
}

/// A token pasted into a text that is stored and shown (label, description,
/// reason, identity, webhook URL) is refused, naming the field, and nothing
/// is stored: it would rest in clear in lists, audit entries and deliveries.
async fn stored_texts_refuse_a_pasted_token(c: Ctx) {
    let jwt = c.owner.clone();
    let tail = &jwt[jwt.len() - 20..];
    c.bot("steve", &["*:*:*"]).await;
    let (id, _) = c.issue("steve").await;
    let hidden = format!("see https://x.example/?t%3D{}", jwt.replace('.', "%2E"));
    let bots = "/v1/orgs/default/bots";
    let token = format!("/v1/orgs/default/tokens/{id}");
    let attempts = [
        (
            "label",
            c.create("tokens", json!({"owner": "steve", "label": hidden}))
                .await,
        ),
        ("label", c.patch(&token, json!({"label": jwt})).await),
        (
            "description",
            c.create("bots", json!({"username": "b2", "description": jwt}))
                .await,
        ),
        (
            "description",
            c.patch(&format!("{bots}/steve"), json!({"description": hidden}))
                .await,
        ),
        (
            "reason",
            c.call(
                "DELETE",
                &token,
                Some(&c.owner),
                Some(json!({"reason": jwt})),
            )
            .await,
        ),
        (
            "url",
            c.post(
                "/v1/orgs/default/webhooks",
                &c.owner,
                json!({"url": format!("https://h.example/?t={jwt}")}),
            )
            .await,
        ),
    ];
    for (f, (s, v)) in attempts {
        assert_eq!(s, StatusCode::BAD_REQUEST, "{f}: {v}");
        assert_eq!(field(&v), f, "{v}");
        assert!(!v.to_string().contains(tail), "{v}");
    }
    let (s, v) = c
        .call(
            "PUT",
            &format!("{bots}/steve/identities/github"),
            Some(&c.owner),
            Some(json!({"identity": jwt})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Nothing was stored, revoked or created.
    assert!(!c.database_text().await.contains(tail));
    let (_, view) = c.get(&token, &c.owner).await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(
        c.status(&format!("{bots}/b2"), &c.owner).await,
        StatusCode::NOT_FOUND
    );
}

async fn another_apps_objects_answer_as_missing_ones(c: Ctx) {
    c.app("web").await;
    c.app("api").await;
    c.bot("deployer", &["*:*:*"]).await;
    let (_, web) = c
        .issue_with(json!({"owner": "deployer", "app": "web", "claims": ["*:*:*"]}))
        .await;
    let (api_token, _) = c
        .issue_with(json!({"owner": "deployer", "app": "api"}))
        .await;
    // Each pair: the other app's object, a missing one — the same answer.
    let pairs: [(&str, &str, &str, Option<Value>); 6] = [
        ("GET", "apps/api", "apps/nope", None),
        ("DELETE", "apps/api", "apps/nope", None),
        (
            "POST",
            "tokens",
            "tokens",
            Some(json!({"owner": "deployer", "app": "api"})),
        ),
        ("GET", "tokens?app=api", "tokens?app=nope", None),
        ("GET", &format!("tokens/{api_token}"), "", None),
        ("DELETE", &format!("tokens/{api_token}"), "", None),
    ];
    for (method, other, missing, body) in pairs {
        let path = |p: &str| format!("/v1/orgs/default/{p}");
        let (s, v) = c.call(method, &path(other), Some(&web), body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {other}: {v}");
        if !missing.is_empty() {
            let body = body.map(|mut b| {
                b["app"] = json!("nope");
                b
            });
            let (s2, v2) = c.call(method, &path(missing), Some(&web), body).await;
            assert_eq!(s2, s, "{method} {missing}: {v2}");
            let same = |v: &Value| (code(v).to_string(), field(v).to_string());
            assert_eq!(same(&v), same(&v2));
            assert_eq!(
                msg(&v).replace("api", "nope"),
                msg(&v2),
                "the message tells them apart"
            );
        }
    }
    // The other app's token and the app itself are still there.
    let (s, _) = c
        .get(&format!("/v1/orgs/default/tokens/{api_token}"), &c.owner)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c
        .call(
            "PATCH",
            &format!("/v1/orgs/default/tokens/{api_token}"),
            Some(&web),
            Some(json!({"label": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn a_long_claim_item_is_refused_with_the_limit(c: Ctx) {
    let long = "a".repeat(10_000);
    let (s, v) = c
        .create(
            "bots",
            json!({"username": "steve", "permissions": [format!("machines:get:{long}")]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(msg(&v).contains("256 characters"), "{v}");
    assert!(msg(&v).len() < 1000, "the whole item is quoted back: {v}");
}

async fn the_feed_filters_by_org_before_the_limit(c: Ctx) {
    // Org `other` revokes three tokens; then `default` one.
    let other = c.org_token("other", &["*:*:*"]).await;
    for _ in 0..3 {
        let (s, v) = c
            .post(
                "/v1/orgs/other/tokens",
                &other,
                json!({"owner": "other-ci"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap();
        let (s, _) = c
            .call(
                "DELETE",
                &format!("/v1/orgs/other/tokens/{id}"),
                Some(&other),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    c.bot("steve", &["*:*:*"]).await;
    let (mine, _) = c.issue("steve").await;
    c.revoke(&mine).await;
    // `other-ci` asks for one revocation: it gets its own first, and its
    // cursor is not moved past the rows of `default`.
    let (s, v) = c.get("/v1/revocations?since=0&limit=1", &other).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(column(&v, "org").len(), 1, "{v}");
    assert_eq!(v["items"][0]["org"], "other");
    // A token of `default` without the admin right sees its own org only,
    // even though three rows of `other` come first.
    let steve = c
        .issue_with(json!({"owner": "steve", "claims": ["revocations:list:*"]}))
        .await
        .1;
    let (s, v) = c.get("/v1/revocations?since=0&limit=1", &steve).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(column(&v, "token_id"), vec![mine.as_str()], "{v}");
    // The root-org owner (admin) sees every org.
    let (_, v) = c.get("/v1/revocations?since=0&limit=10", &c.owner).await;
    assert_eq!(column(&v, "token_id").len(), 4, "{v}");
}
