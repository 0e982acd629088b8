//! Every route's happy path and its errors.

use crate::{both, code, column, count, field, msg, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    operations,
    bots_crud,
    bot_errors_change_nothing,
    identities,
    users_crud,
    apps_and_app_scope,
    tokens_issue_and_view,
    token_issue_errors,
    token_list_filters_and_pages,
    token_patch,
    revoke_by_id,
    revoke_and_introspect_by_value,
    revocation_feed,
    audit_log,
    orgs_and_tenancy,
    key_rotation,
    idempotency_key
);

async fn operations(c: Ctx) {
    assert_eq!(
        c.call("GET", "/healthz", None, None).await.0,
        StatusCode::OK
    );
    let (s, v) = c.call("GET", "/readyz", None, None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (s, v) = c.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/v1/orgs/{org}/tokens",
        "/v1/revoke",
        "/v1/introspect",
        "/v1/orgs/{org}/bots/{bot}/identities/{service}",
    ] {
        assert!(v["paths"][path].is_object(), "openapi lacks {path}");
    }
    // Every $ref points at a schema the document defines.
    let doc = v.to_string();
    for r in doc.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            v["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    let issue = &v["components"]["schemas"]["IssueToken"]["properties"];
    assert!(
        issue["owner"].is_object() && issue["expiry"].is_object() && issue["claims"].is_object()
    );
    // The document and the router agree: every documented operation is routed.
    c.bot("doc-bot", &[]).await;
    for (path, ops) in v["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{org}", "default")
            .replace("{bot}", "doc-bot")
            .replace("{user}", "nobody@example.com")
            .replace("{app}", "no-app")
            .replace("{service}", "slack")
            .replace("{id}", "00000000-0000-4000-8000-000000000000");
        for method in ops.as_object().unwrap().keys() {
            if path == "/v1/keys/rotate"
                || (method == "delete" && path.contains("{bot}") && !path.contains("{service}"))
            {
                continue; // changes state other checks here rely on
            }
            let (s, body) = c
                .call(
                    &method.to_uppercase(),
                    &concrete,
                    Some(&c.owner),
                    Some(json!({})),
                )
                .await;
            assert_ne!(
                s,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            assert!(
                msg(&body) != "no such route",
                "{method} {path} is documented but not routed"
            );
        }
    }
    let (s, v) = c.put("/v1/orgs/default/bots", json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (s, v) = c.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let k = &v["keys"][0];
    assert_eq!(
        (k["kty"].as_str(), k["crv"].as_str(), k["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(
        k.get("d").is_none(),
        "the JWKS must never hold the private key"
    );
    c.get("/v1/whoami", &c.owner).await;
    let (s, v) = c.call("GET", "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v
        .as_str()
        .unwrap()
        .contains("sigil_http_requests_total{method=\"GET\",status=\"200\"}"));
    let (s, v) = c.call("GET", "/v1/nope", Some(&c.owner), None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn bots_crud(c: Ctx) {
    let b = c.bot("steve", &["machines:get,list:*"]).await;
    assert_eq!(b["username"], "steve");
    assert_eq!(b["token_count"], 0);
    let id = b["id"].as_str().unwrap();
    // View by name and by id.
    for r in ["steve", id] {
        let (s, v) = c.get(&format!("/v1/orgs/default/bots/{r}"), &c.owner).await;
        assert_eq!((s, v["id"].as_str()), (StatusCode::OK, Some(id)));
    }
    c.issue("steve").await;
    c.issue("steve").await;
    let (_, v) = c.get("/v1/orgs/default/bots", &c.owner).await;
    assert_eq!(
        v["items"][0]["token_count"], 2,
        "list shows live token counts"
    );
    let (s, v) = c
        .patch(
            "/v1/orgs/default/bots/steve",
            json!({"description": "CI deployer"}),
        )
        .await;
    assert_eq!(
        (s, v["description"].as_str()),
        (StatusCode::OK, Some("CI deployer"))
    );
    assert_eq!(
        v["permissions"],
        json!(["machines:get,list:*"]),
        "untouched fields stay"
    );
    let (s, _) = c
        .call(
            "DELETE",
            "/v1/orgs/default/bots/steve",
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = c.get("/v1/orgs/default/bots/steve", &c.owner).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn bot_errors_change_nothing(c: Ctx) {
    for (body, f) in [
        (json!({"username": "Bad Name"}), "username"),
        (
            json!({"username": "48de76fd-c5c7-4b05-9f70-52af9a996d38"}),
            "username",
        ),
        (
            json!({"username": "ok", "permissions": ["machines:get"]}),
            "permissions",
        ),
        (
            json!({"username": "ok", "identities": {"Not A Service": "x"}}),
            "identities",
        ),
    ] {
        let (s, v) = c
            .post("/v1/orgs/default/bots", &c.owner, body.clone())
            .await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input", f),
            "{body}: {v}"
        );
    }
    let (s, v) = c
        .post(
            "/v1/orgs/default/bots",
            &c.owner,
            json!({"username": "Bad Name"}),
        )
        .await;
    assert!(
        msg(&v).contains("[a-z0-9][a-z0-9._-]{0,62}"),
        "the message shows the accepted form: {v}"
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = c
        .post(
            "/v1/orgs/default/bots",
            &c.owner,
            json!({"description": "no name"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    assert!(msg(&v).contains("username"), "{v}");
    c.bot("dup", &[]).await;
    let (s, v) = c
        .post(
            "/v1/orgs/default/bots",
            &c.owner,
            json!({"username": "dup"}),
        )
        .await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (StatusCode::CONFLICT, "conflict", "username")
    );
    let (_, v) = c.get("/v1/orgs/default/bots", &c.owner).await;
    assert_eq!(count(&v), 1, "failed creates left nothing behind: {v}");
    // A bad PATCH changes nothing.
    let (s, _) = c
        .patch(
            "/v1/orgs/default/bots/dup",
            json!({"description": "x", "permissions": ["bad"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = c.get("/v1/orgs/default/bots/dup", &c.owner).await;
    assert_eq!(v["description"], "");
    let (s, v) = c
        .call("POST", "/v1/orgs/default/bots", Some(&c.owner), None)
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_input"),
        "empty body is a 400 in the API's shape"
    );
}

async fn identities(c: Ctx) {
    c.bot("id-bot", &[]).await;
    let (s, v) = c
        .put(
            "/v1/orgs/default/bots/id-bot/identities/slack",
            json!({"identity": "U123"}),
        )
        .await;
    assert_eq!(
        (s, v["identities"]["slack"].as_str()),
        (StatusCode::OK, Some("U123"))
    );
    let (_, v) = c
        .put(
            "/v1/orgs/default/bots/id-bot/identities/aws",
            json!({"identity": "arn:aws:iam::1:user/x"}),
        )
        .await;
    assert_eq!(
        v["identities"],
        json!({"slack": "U123", "aws": "arn:aws:iam::1:user/x"})
    );
    let (_, v) = c
        .put(
            "/v1/orgs/default/bots/id-bot/identities/slack",
            json!({"identity": "U999"}),
        )
        .await;
    assert_eq!(v["identities"]["slack"], "U999", "PUT replaces one service");
    let (s, v) = c
        .call(
            "DELETE",
            "/v1/orgs/default/bots/id-bot/identities/slack",
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!(
        (s, v["identities"].clone()),
        (StatusCode::OK, json!({"aws": "arn:aws:iam::1:user/x"}))
    );
    let (s, v) = c
        .call(
            "DELETE",
            "/v1/orgs/default/bots/id-bot/identities/slack",
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = c
        .put(
            "/v1/orgs/default/bots/id-bot/identities/BAD%20NAME",
            json!({"identity": "x"}),
        )
        .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "service"));
    let (s, v) = c
        .put(
            "/v1/orgs/default/bots/id-bot/identities/github",
            json!({"identity": ""}),
        )
        .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "identity"));
}

async fn users_crud(c: Ctx) {
    let (s, v) = c
        .post(
            "/v1/orgs/default/users",
            &c.owner,
            json!({"email": "ann@example.com", "permissions": ["bots:get,list:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = c
        .post(
            "/v1/orgs/default/users",
            &c.owner,
            json!({"email": "not-an-email"}),
        )
        .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "email"));
    let (s, _) = c
        .post(
            "/v1/orgs/default/users",
            &c.owner,
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = c
        .get("/v1/orgs/default/users/ann@example.com", &c.owner)
        .await;
    assert_eq!(
        (s, v["permissions"].clone()),
        (StatusCode::OK, json!(["bots:get,list:*"]))
    );
    let (s, v) = c
        .patch(
            "/v1/orgs/default/users/ann@example.com",
            json!({"permissions": ["bots:list:*"]}),
        )
        .await;
    assert_eq!(
        (s, v["permissions"].clone()),
        (StatusCode::OK, json!(["bots:list:*"]))
    );
    // Humans hold only short-lived tokens.
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "ann@example.com", "expiry": "100d"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lifetime_exceeded")
    );
    let (_, ann) = c
        .issue_as(
            &c.owner,
            json!({"owner": "ann@example.com", "expiry": "8h"}),
        )
        .await;
    assert_eq!(c.get("/v1/orgs/default/bots", &ann).await.0, StatusCode::OK);
    let (_, v) = c.get("/v1/orgs/default/users", &c.owner).await;
    assert_eq!(count(&v), 2, "owner and ann");
    let (s, _) = c
        .call(
            "DELETE",
            "/v1/orgs/default/users/ann@example.com",
            Some(&c.owner),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        c.get("/v1/orgs/default/bots", &ann).await.0,
        StatusCode::UNAUTHORIZED,
        "a deleted user's tokens die with it"
    );
}

async fn apps_and_app_scope(c: Ctx) {
    let (s, web) = c
        .post("/v1/orgs/default/apps", &c.owner, json!({"name": "web"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    c.post("/v1/orgs/default/apps", &c.owner, json!({"name": "api"}))
        .await;
    let (s, v) = c
        .post("/v1/orgs/default/apps", &c.owner, json!({"name": "web"}))
        .await;
    assert_eq!((s, field(&v)), (StatusCode::CONFLICT, "name"));
    let (s, v) = c
        .post(
            "/v1/orgs/default/apps",
            &c.owner,
            json!({"name": "Web App"}),
        )
        .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "name"));
    c.bot("deployer", &["*:*:*"]).await;
    let (s, t) = c
        .post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "deployer", "app": "web", "claims": ["tokens:*:*", "apps:*:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(
        (t["scope"].as_str(), t["app"].as_str()),
        (Some("app"), Some("web"))
    );
    assert_eq!(t["app_id"], web["id"]);
    let app_tok = t["token"].as_str().unwrap();
    let (_, me) = c.get("/v1/whoami", app_tok).await;
    assert_eq!(me["app"], "web");
    // It sees its app, not the other one, and nothing org-wide.
    assert_eq!(
        c.get("/v1/orgs/default/apps/web", app_tok).await.0,
        StatusCode::OK
    );
    assert_eq!(
        c.get("/v1/orgs/default/apps/api", app_tok).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, v) = c.get("/v1/orgs/default/apps", app_tok).await;
    assert_eq!(count(&v), 1);
    assert_eq!(
        c.get("/v1/orgs/default/bots", app_tok).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = c
        .post(
            "/v1/orgs/default/tokens",
            app_tok,
            json!({"owner": "deployer", "app": "api", "claims": ["tokens:get:*"]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an app token cannot mint for another app"
    );
    let (_, org_tok) = c.issue("deployer").await;
    let (_, v) = c.get("/v1/orgs/default/tokens?scope=app", &org_tok).await;
    assert_eq!(count(&v), 1);
    // An app token sees only its app's tokens.
    let (_, v) = c.get("/v1/orgs/default/tokens", app_tok).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["app"] == "web"),
        "{v}"
    );
    // Deleting the app revokes its tokens.
    assert_eq!(
        c.delete("/v1/orgs/default/apps/web").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get("/v1/whoami", app_tok).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(c.get("/v1/whoami", &org_tok).await.0, StatusCode::OK);
}

async fn tokens_issue_and_view(c: Ctx) {
    c.bot("steve", &["machines:get,list:*", "bots:list:*"])
        .await;
    let (s, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "steve", "expiry": "100d", "label": "ci"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        v["claims"],
        json!(["machines:get,list:*", "bots:list:*"]),
        "default claims are the owner's permissions"
    );
    assert_eq!(v["label"], "ci");
    assert_eq!(v["scope"], "org");
    assert_eq!(v["status"], "active");
    assert_eq!(v["owner"], "steve");
    assert_eq!(v["created_by_name"], "owner@sigil.local");
    let exp = time::OffsetDateTime::parse(
        v["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(exp.unix_timestamp(), crate::harness::T0 + 100 * 86_400);
    let jwt = v["token"].as_str().unwrap();
    let id = v["id"].as_str().unwrap();
    // The JWT carries the payload of SPEC §3.
    let payload: serde_json::Value = {
        use base64::Engine;
        let part = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    for k in [
        "iss", "sub", "org", "jti", "iat", "nbf", "exp", "claims", "kind",
    ] {
        assert!(payload.get(k).is_some(), "payload lacks {k}: {payload}");
    }
    assert_eq!(
        (payload["jti"].as_str(), payload["kind"].as_str()),
        (Some(id), Some("bot"))
    );
    // View: metadata, never the JWT.
    let (s, v) = c
        .get(&format!("/v1/orgs/default/tokens/{id}"), &c.owner)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v.get("token").is_none() && !v.to_string().contains(jwt),
        "view never shows the JWT"
    );
    assert!(v["last_used_at"].is_null());
    c.get("/v1/whoami", jwt).await;
    let (_, v) = c
        .get(&format!("/v1/orgs/default/tokens/{id}"), &c.owner)
        .await;
    assert!(!v["last_used_at"].is_null(), "use is recorded");
    // Narrower claims, an absolute expiry.
    let (s, v) = c.post("/v1/orgs/default/tokens", &c.owner, json!({"owner": "steve", "claims": ["machines:list:*"], "expires_at": "2030-06-01T00:00:00Z"})).await;
    assert_eq!(
        (s, v["claims"].clone(), v["expires_at"].as_str()),
        (
            StatusCode::CREATED,
            json!(["machines:list:*"]),
            Some("2030-06-01T00:00:00Z")
        )
    );
    let (s, v) = c
        .get(
            "/v1/orgs/default/tokens/00000000-0000-4000-8000-000000000000",
            &c.owner,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = c.get("/v1/orgs/default/tokens/not-a-uuid", &c.owner).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "id"));
}

async fn token_issue_errors(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
    let cases = [
        (
            json!({"owner": "steve", "expiry": "10 days"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "expiry",
        ),
        (
            json!({"owner": "steve", "expiry": "1d", "expires_at": "2030-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "expires_at",
        ),
        (
            json!({"owner": "steve", "expires_at": "tomorrow"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "expires_at",
        ),
        (
            json!({"owner": "steve", "expires_at": "2001-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "expires_at",
        ),
        (
            json!({"owner": "steve", "claims": ["machines"]}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "claims",
        ),
        (
            json!({"owner": "steve", "claims": ["machines:delete:*"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "claims_exceed_owner",
            "claims",
        ),
        (
            json!({"owner": "nobody"}),
            StatusCode::NOT_FOUND,
            "not_found",
            "owner",
        ),
        (
            json!({"owner": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "owner",
        ),
        (
            json!({"owner": "steve", "app": "nope"}),
            StatusCode::NOT_FOUND,
            "not_found",
            "app",
        ),
        (
            json!({"owner": "steve", "label": "x".repeat(201)}),
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "label",
        ),
        (
            json!({"owner": "steve", "expires_at": "9999-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lifetime_exceeded",
            "expiry",
        ),
    ];
    for (body, status, want_code, want_field) in cases {
        let (s, v) = c
            .post("/v1/orgs/default/tokens", &c.owner, body.clone())
            .await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (status, want_code, want_field),
            "{body} → {v}"
        );
    }
    let (_, v) = c
        .post(
            "/v1/orgs/default/tokens",
            &c.owner,
            json!({"owner": "steve", "expiry": "10 days"}),
        )
        .await;
    assert!(
        msg(&v).contains("100d") && msg(&v).contains("RFC 3339"),
        "shows accepted forms: {v}"
    );
    let (_, v) = c
        .get("/v1/orgs/default/tokens?include_revoked=true", &c.owner)
        .await;
    assert_eq!(
        count(&v),
        1,
        "only the bootstrap token: bad input minted nothing"
    );
    assert_eq!(
        c.post(
            "/v1/orgs/default/tokens",
            "garbage",
            json!({"owner": "steve"})
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
}

async fn token_list_filters_and_pages(c: Ctx) {
    c.bot("a", &["*:*:*"]).await;
    c.bot("b", &["*:*:*"]).await;
    c.post("/v1/orgs/default/apps", &c.owner, json!({"name": "web"}))
        .await;
    for _ in 0..3 {
        c.issue("a").await;
    }
    let (rid, _) = c.issue("b").await;
    c.issue_as(&c.owner.clone(), json!({"owner": "b", "app": "web"}))
        .await;
    c.delete(&format!("/v1/orgs/default/tokens/{rid}")).await;
    let (_, v) = c.get("/v1/orgs/default/tokens?owner=a", &c.owner).await;
    assert_eq!(count(&v), 3);
    let (_, v) = c.get("/v1/orgs/default/tokens?owner=b", &c.owner).await;
    assert_eq!(count(&v), 1, "revoked tokens are hidden by default");
    let (_, v) = c
        .get(
            "/v1/orgs/default/tokens?owner=b&include_revoked=true",
            &c.owner,
        )
        .await;
    assert_eq!(count(&v), 2);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["status"] == "revoked"));
    let (_, v) = c.get("/v1/orgs/default/tokens?app=web", &c.owner).await;
    assert_eq!(count(&v), 1);
    let (_, v) = c.get("/v1/orgs/default/tokens?scope=org", &c.owner).await;
    assert_eq!(count(&v), 4, "3 of a + the bootstrap token");
    let (s, v) = c.get("/v1/orgs/default/tokens?scope=team", &c.owner).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "scope"));
    // Cursor pagination walks every token once.
    let mut seen = Vec::new();
    let mut url = "/v1/orgs/default/tokens?limit=2&include_revoked=true".to_string();
    loop {
        let (s, v) = c.get(&url, &c.owner).await;
        assert_eq!(s, StatusCode::OK);
        assert!(count(&v) <= 2);
        seen.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string()),
        );
        match v["next_cursor"].as_str() {
            Some(cur) => {
                url = format!("/v1/orgs/default/tokens?limit=2&include_revoked=true&cursor={cur}")
            }
            None => break,
        }
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!((seen.len(), dedup.len()), (6, 6));
    assert_eq!(
        c.get("/v1/orgs/default/tokens?limit=0", &c.owner).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("/v1/orgs/default/tokens?cursor=%%%", &c.owner)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

async fn token_patch(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (id, jwt) = c
        .issue_as(&c.owner.clone(), json!({"owner": "steve", "expiry": "30d"}))
        .await;
    let path = format!("/v1/orgs/default/tokens/{id}");
    let (s, v) = c.patch(&path, json!({"label": "renamed"})).await;
    assert_eq!((s, v["label"].as_str()), (StatusCode::OK, Some("renamed")));
    assert_eq!(
        c.get("/v1/whoami", &jwt).await.0,
        StatusCode::OK,
        "a label change keeps the JWT valid"
    );
    let (s, v) = c.patch(&path, json!({"expiry": "60d"})).await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "expiry_extension",
            "expiry"
        )
    );
    let (s, v) = c.patch(&path, json!({"expiry": "1h", "label": "x"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Shortened: the JWT's own `exp` is later, the server's word wins.
    c.advance(3600);
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(
        (s, msg(&v)),
        (StatusCode::UNAUTHORIZED, "the bearer token has expired")
    );
    let (_, v) = c.get(&path, &c.owner).await;
    assert_eq!(v["status"], "expired");
    let (s, _) = c.patch(&path, json!({"expiry": "bad"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn revoke_by_id(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, jwt) = c.issue("steve").await;
    let (_, other) = c.issue("steve").await;
    let path = format!("/v1/orgs/default/tokens/{id}");
    let (s, v) = c
        .call(
            "DELETE",
            &path,
            Some(&c.owner),
            Some(json!({"reason": "leaked"})),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str(), v["revoke_reason"].as_str()),
        (StatusCode::OK, Some("revoked"), Some("leaked"))
    );
    let first = v["revoked_at"].clone();
    c.advance(5);
    let (s, v) = c.delete(&path).await;
    assert_eq!(
        (s, v["revoked_at"].clone()),
        (StatusCode::OK, first),
        "revoking again is a no-op"
    );
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(
        (s, msg(&v)),
        (
            StatusCode::UNAUTHORIZED,
            "the bearer token has been revoked"
        )
    );
    // The bot and its other tokens are untouched.
    assert_eq!(
        c.get("/v1/orgs/default/bots", &other).await.0,
        StatusCode::OK
    );
    assert_eq!(
        c.get("/v1/orgs/default/bots/steve", &c.owner).await.0,
        StatusCode::OK
    );
    // A revoked token cannot be changed.
    let (s, _) = c.patch(&path, json!({"label": "x"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A token may revoke itself by id without tokens:revoke — not its siblings:
    // a leaked narrow token must not take down the bot's other tokens.
    let (sid, own) = c.issue("steve").await;
    let (sib, _) = c.issue("steve").await;
    let (s, _) = c
        .call(
            "DELETE",
            &format!("/v1/orgs/default/tokens/{sib}"),
            Some(&own),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = c
        .call(
            "DELETE",
            &format!("/v1/orgs/default/tokens/{sid}"),
            Some(&own),
            None,
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("revoked")));
    // Claims name a token by id or by its owner, never by its free-text label.
    let ci = c.bot_token("ci", &[]).await;
    let _ = ci;
    let mgr = c.bot_token("mgr", &["tokens:get,revoke:ci"]).await;
    c.bot("other", &[]).await;
    let (lookalike, _) = c
        .issue_as(&c.owner.clone(), json!({"owner": "other", "label": "ci"}))
        .await;
    let (s, _) = c
        .call(
            "DELETE",
            &format!("/v1/orgs/default/tokens/{lookalike}"),
            Some(&mgr),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a label named like the bot grants nothing"
    );
    let (ci_tok, _) = c.issue("ci").await;
    let (s, _) = c
        .call(
            "DELETE",
            &format!("/v1/orgs/default/tokens/{ci_tok}"),
            Some(&mgr),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "tokens:revoke:ci reaches ci's tokens");
}

async fn revoke_and_introspect_by_value(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (_, jwt) = c.issue("steve").await;
    let form = |path: &str, token: Option<&str>, body: String| {
        let mut b = axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(axum::body::Body::from(body)).unwrap()
    };
    let (s, v) = c
        .send(form(
            "/v1/introspect",
            Some(&c.owner),
            format!("token={jwt}"),
        ))
        .await;
    assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(
        (
            v["username"].as_str(),
            v["kind"].as_str(),
            v["scope"].as_str()
        ),
        (Some("steve"), Some("bot"), Some("bots:list:*"))
    );
    let (_, v) = c
        .send(form(
            "/v1/introspect",
            Some(&c.owner),
            "token=garbage".into(),
        ))
        .await;
    assert_eq!(
        v,
        json!({"active": false}),
        "an invalid token answers only active=false"
    );
    assert_eq!(
        c.send(form("/v1/introspect", None, format!("token={jwt}")))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = c
        .send(form(
            "/v1/introspect",
            Some(&c.owner),
            "nothing=here".into(),
        ))
        .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "token"));
    // RFC 7009: holding the token is enough; garbage answers 200 too.
    assert_eq!(
        c.send(form("/v1/revoke", None, "token=garbage".into()))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        c.send(form("/v1/revoke", None, format!("token={jwt}")))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(c.get("/v1/whoami", &jwt).await.0, StatusCode::UNAUTHORIZED);
    let (_, v) = c
        .send(form(
            "/v1/introspect",
            Some(&c.owner),
            format!("token={jwt}"),
        ))
        .await;
    assert_eq!(v, json!({"active": false}));
    // JSON bodies work as well.
    let (_, jwt2) = c.issue("steve").await;
    let (s, _) = c
        .call("POST", "/v1/revoke", None, Some(json!({"token": jwt2})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c.get("/v1/whoami", &jwt2).await.0, StatusCode::UNAUTHORIZED);
}

async fn revocation_feed(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (a, _) = c.issue("steve").await;
    let (b, _) = c.issue("steve").await;
    let (_, v) = c.get("/v1/revocations?since=0", &c.owner).await;
    assert_eq!(v["items"], json!([]));
    let start = v["cursor"].as_i64().unwrap();
    c.delete(&format!("/v1/orgs/default/tokens/{a}")).await;
    let (_, v) = c
        .get(&format!("/v1/revocations?since={start}"), &c.owner)
        .await;
    let ids = column(&v, "token_id");
    assert_eq!(ids, vec![a.as_str()]);
    let cur = v["cursor"].as_i64().unwrap();
    c.delete("/v1/orgs/default/bots/steve").await;
    let (_, v) = c
        .get(&format!("/v1/revocations?since={cur}"), &c.owner)
        .await;
    let ids = column(&v, "token_id");
    assert_eq!(
        ids,
        vec![b.as_str()],
        "deleting the bot revoked its remaining token, once"
    );
    assert_eq!(
        c.get("/v1/revocations?since=-1", &c.owner).await.0,
        StatusCode::BAD_REQUEST
    );
    c.post("/v1/orgs/default/apps", &c.owner, json!({"name": "web"}))
        .await;
    c.bot("watcher", &["*:*:*"]).await;
    let (_, app_tok) = c
        .issue_as(&c.owner.clone(), json!({"owner": "watcher", "app": "web"}))
        .await;
    assert_eq!(
        c.get("/v1/revocations?since=0", &app_tok).await.0,
        StatusCode::FORBIDDEN,
        "the feed spans the org"
    );
}

async fn audit_log(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (id, _) = c.issue("steve").await;
    c.delete(&format!("/v1/orgs/default/tokens/{id}")).await;
    c.post(
        "/v1/orgs/default/bots",
        &c.owner,
        json!({"username": "BAD"}),
    )
    .await;
    let (s, v) = c.get("/v1/orgs/default/audit", &c.owner).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["bootstrap", "bot.create", "token.issue", "token.revoke"],
        "failed requests leave no entry"
    );
    let e = &v["items"][2];
    assert_eq!(
        (e["actor"].as_str(), e["target_id"].as_str()),
        (Some("owner@sigil.local"), Some(id.as_str()))
    );
    assert!(!v.to_string().contains("eyJ"), "no JWT in the audit log");
    let weak = c.bot_token("weak", &["bots:list:*"]).await;
    assert_eq!(
        c.get("/v1/orgs/default/audit", &weak).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn orgs_and_tenancy(c: Ctx) {
    let (s, v) = c
        .post(
            "/v1/orgs",
            &c.owner,
            json!({"name": "acme", "max_token_lifetime": "30d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["max_token_lifetime"], 30 * 86_400);
    assert_eq!(
        c.post("/v1/orgs", &c.owner, json!({"name": "acme"}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        c.post("/v1/orgs", &c.owner, json!({"name": "Acme Inc"}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (_, v) = c.get("/v1/orgs", &c.owner).await;
    assert_eq!(count(&v), 2);
    // The root owner administers acme: a bot there, a token within the org's cap.
    let (s, _) = c
        .post(
            "/v1/orgs/acme/bots",
            &c.owner,
            json!({"username": "acme-ci", "permissions": ["bots:*:*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = c
        .post(
            "/v1/orgs/acme/tokens",
            &c.owner,
            json!({"owner": "acme-ci", "expiry": "90d"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lifetime_exceeded"),
        "the org caps lifetimes"
    );
    let (s, v) = c
        .post(
            "/v1/orgs/acme/tokens",
            &c.owner,
            json!({"owner": "acme-ci", "expiry": "7d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let acme = v["token"].as_str().unwrap().to_string();
    assert_eq!(c.get("/v1/orgs/acme/bots", &acme).await.0, StatusCode::OK);
    // Another org's objects do not exist for it.
    c.bot("secret-bot", &[]).await;
    for path in [
        "/v1/orgs/default",
        "/v1/orgs/default/bots",
        "/v1/orgs/default/bots/secret-bot",
    ] {
        let (s, v) = c.get(path, &acme).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::NOT_FOUND, "not_found", "org"),
            "{path}: the org is what is out of reach"
        );
    }
    let (_, v) = c.get("/v1/orgs", &acme).await;
    assert_eq!(count(&v), 1, "it lists only its own org");
    assert_eq!(
        c.post("/v1/orgs", &acme, json!({"name": "evil"})).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn key_rotation(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (_, old) = c
        .issue_as(&c.owner.clone(), json!({"owner": "steve", "expiry": "2d"}))
        .await;
    let (_, jwks) = c.call("GET", "/.well-known/jwks.json", None, None).await;
    let old_kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    let (s, v) = c
        .call("POST", "/v1/keys/rotate", Some(&c.owner), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new_kid = v["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    let (_, new) = c.issue("steve").await;
    let kid_of = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_eq!(
        kid_of(&new),
        new_kid,
        "new tokens are signed with the new key"
    );
    assert_eq!(
        c.get("/v1/whoami", &old).await.0,
        StatusCode::OK,
        "old tokens keep verifying"
    );
    let kids = |v: &serde_json::Value| {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, jwks) = c.call("GET", "/.well-known/jwks.json", None, None).await;
    assert!(kids(&jwks).contains(&old_kid) && kids(&jwks).contains(&new_kid));
    let weak = c.bot_token("weak", &["bots:list:*"]).await;
    assert_eq!(
        c.call("POST", "/v1/keys/rotate", Some(&weak), Some(json!({})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Once every token the old key signed has expired, it leaves the JWKS.
    // (The bootstrap token, signed by the old key, lives 1 day; `old` 2 days.)
    c.advance(86_400 + 1);
    let (_, jwks) = c.call("GET", "/.well-known/jwks.json", None, None).await;
    assert!(kids(&jwks).contains(&old_kid), "still signs a live token");
    c.advance(86_400);
    let (_, jwks) = c.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(kids(&jwks), vec![new_kid]);
}

async fn idempotency_key(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let req = |key: &str, label: &str| {
        axum::http::Request::builder()
            .method("POST")
            .uri("/v1/orgs/default/tokens")
            .header("authorization", format!("Bearer {}", c.owner))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(
                json!({"owner": "steve", "label": label}).to_string(),
            ))
            .unwrap()
    };
    let (s1, a) = c.send(req("k-1", "ci")).await;
    let (s2, b) = c.send(req("k-1", "ci")).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(
        a["id"], b["id"],
        "a retried request answers the first token"
    );
    assert_eq!(a["token"], b["token"]);
    let (_, v) = c.get("/v1/orgs/default/tokens?owner=steve", &c.owner).await;
    assert_eq!(count(&v), 1, "one token minted");
    let (s, v) = c.send(req("k-1", "other")).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_mismatch")
    );
    let (s, c2) = c.send(req("k-2", "ci")).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(c2["id"], a["id"]);
    assert!(
        !c.database_text()
            .await
            .contains(a["token"].as_str().unwrap()),
        "the stored answer is encrypted"
    );
    // Another token of the same principal never receives that answer.
    let (_, other_owner_token) = c
        .issue_as(
            &c.owner.clone(),
            json!({"owner": "owner@sigil.local", "expiry": "1h"}),
        )
        .await;
    let replayed = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/orgs/default/tokens")
        .header("authorization", format!("Bearer {other_owner_token}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "k-1")
        .body(axum::body::Body::from(
            json!({"owner": "steve", "label": "ci"}).to_string(),
        ))
        .unwrap();
    let (s, d) = c.send(replayed).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(d["id"], a["id"], "keys are per calling token");
}
