//! Bad input, as an attacker sends it: every refusal is a 4xx in the API's
//! JSON shape naming the field or parameter, and nothing malformed reaches
//! the database (where PostgreSQL answered 500 to a NUL byte). One test per
//! finding of issue 10's input bullets, on both backends.

use crate::{both, code, field, Ctx};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

both!(
    a_nul_in_a_path_segment_is_400_naming_it,
    a_nul_in_a_query_parameter_is_400_naming_it,
    a_nul_in_a_body_field_is_400_naming_it,
    a_cursor_that_is_no_cursor_is_400,
    bad_query_strings_are_json_400_naming_the_parameter,
    a_body_over_the_limit_is_413_in_the_json_shape,
    invalid_utf8_in_a_path_segment_is_json_400,
    an_array_is_not_a_body,
    unknown_body_fields_are_refused_naming_them,
    references_are_checked_before_any_lookup,
    expires_at_takes_a_time_not_a_duration,
    the_openapi_document_publishes_the_bounds,
);

/// Asserts a 400 `invalid_input` naming `want`.
#[track_caller]
fn invalid(what: &str, (s, v): (StatusCode, Value), want: &str) {
    assert_eq!(
        (s, code(&v), field(&v)),
        (StatusCode::BAD_REQUEST, "invalid_input", want),
        "{what}: {v}"
    );
}

async fn raw(
    c: &Ctx,
    method: &str,
    uri: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", c.owner));
    if let Some(ct) = ct {
        b = b.header("content-type", ct);
    }
    c.send(b.body(Body::from(body)).unwrap()).await
}

async fn a_nul_in_a_path_segment_is_400_naming_it(c: Ctx) {
    c.bot("steve", &[]).await;
    for (path, want) in [
        ("/v1/orgs/a%00b", "org"),
        ("/v1/orgs/a%00b/bots", "org"),
        ("/v1/orgs/default/bots/a%00b", "bot"),
        ("/v1/orgs/default/users/a%00b@example.com", "user"),
        ("/v1/orgs/default/apps/a%00b", "app"),
        ("/v1/orgs/default/tokens/a%00b", "id"),
        ("/v1/orgs/default/audit?limit=1&x=%00", "x"),
    ] {
        invalid(path, c.get(path, &c.owner).await, want);
    }
    let path = "/v1/orgs/default/bots/steve/identities/sl%00ck";
    invalid(
        path,
        c.put(path, json!({"identity": "U1"})).await,
        "service",
    );
}

async fn a_nul_in_a_query_parameter_is_400_naming_it(c: Ctx) {
    for (q, want) in [("owner=a%00b", "owner"), ("app=a%00b", "app")] {
        let path = format!("/v1/orgs/default/tokens?{q}");
        invalid(&path, c.get(&path, &c.owner).await, want);
    }
    let (id, _) = c.issue(crate::OWNER).await;
    let path = format!("/v1/orgs/default/tokens/{id}?reason=a%00b");
    invalid(&path, c.delete(&path).await, "reason");
}

async fn a_nul_in_a_body_field_is_400_naming_it(c: Ctx) {
    c.bot("steve", &[]).await;
    for (path, body, want) in [
        (
            "bots",
            json!({"username": "x", "description": "a\u{0}b"}),
            "description",
        ),
        (
            "bots",
            json!({"username": "x", "identities": {"slack": "a\u{0}b"}}),
            "identities.slack",
        ),
        ("users", json!({"email": "a\u{0}b@example.com"}), "email"),
        ("tokens", json!({"owner": "a\u{0}b"}), "owner"),
        (
            "tokens",
            json!({"owner": "steve", "label": "a\u{0}b"}),
            "label",
        ),
        (
            "tokens",
            json!({"owner": "steve", "claims": ["a:b:c\u{0}"]}),
            "claims[0]",
        ),
        ("apps", json!({"name": "a\u{0}b"}), "name"),
    ] {
        invalid(path, c.create(path, body).await, want);
    }
    let r = c
        .patch(
            "/v1/orgs/default/bots/steve",
            json!({"description": "x\u{0}"}),
        )
        .await;
    invalid("patch", r, "description");
    let r = c
        .post("/v1/orgs", &c.owner, json!({"name": "a\u{0}"}))
        .await;
    invalid("org", r, "name");
}

/// `cursor=AA` decoded to one NUL byte, which PostgreSQL refused with a 500.
async fn a_cursor_that_is_no_cursor_is_400(c: Ctx) {
    for cursor in [
        "AA",
        "",
        "AAAAAAAAAAAAAAAAAAAAA",
        "%FF",
        "AAAAAAAAAAAAAAAAAAAAA*",
    ] {
        for list in [
            "orgs",
            "orgs/default/bots",
            "orgs/default/tokens",
            "orgs/default/audit",
        ] {
            let path = format!("/v1/{list}?cursor={cursor}");
            invalid(&path, c.get(&path, &c.owner).await, "cursor");
        }
    }
}

async fn bad_query_strings_are_json_400_naming_the_parameter(c: Ctx) {
    for (path, want) in [
        ("/v1/orgs/default/bots?limit=-1", "limit"),
        ("/v1/orgs/default/bots?limit=1e9", "limit"),
        ("/v1/orgs/default/bots?limit=abc", "limit"),
        ("/v1/orgs/default/bots?limit=0", "limit"),
        ("/v1/orgs/default/bots?limit=501", "limit"),
        ("/v1/orgs?limit=abc", "limit"),
        ("/v1/revocations?since=abc", "since"),
        ("/v1/revocations?since=-1", "since"),
        ("/v1/revocations?limit=0", "limit"),
        ("/v1/revocations?limit=1001", "limit"),
        (
            "/v1/orgs/default/tokens?include_revoked=maybe",
            "include_revoked",
        ),
        ("/v1/orgs/default/tokens?owner=a&owner=b", "owner"),
        ("/v1/orgs/default/tokens?scope=everything", "scope"),
        ("/v1/orgs/default/tokens?limit=2&cursor=x&limit=3", "limit"),
    ] {
        invalid(path, c.get(path, &c.owner).await, want);
    }
}

async fn a_body_over_the_limit_is_413_in_the_json_shape(c: Ctx) {
    let (id, _) = c.issue(crate::OWNER).await;
    let big = format!("{{\"reason\": \"{}\"}}", "x".repeat(3 << 20)).into_bytes();
    for (method, uri) in [
        ("DELETE", format!("/v1/orgs/default/tokens/{id}")),
        ("POST", "/v1/orgs/default/bots".into()),
        ("PATCH", format!("/v1/orgs/default/tokens/{id}")),
        ("POST", "/v1/introspect".into()),
    ] {
        let (s, v) = raw(&c, method, &uri, Some("application/json"), big.clone()).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "body"),
            "{method} {uri}: {v}"
        );
    }
    let form = format!("token={}", "x".repeat(100 << 10)).into_bytes();
    let (s, v) = raw(
        &c,
        "POST",
        "/v1/revoke",
        Some("application/x-www-form-urlencoded"),
        form,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{v}"
    );
}

async fn invalid_utf8_in_a_path_segment_is_json_400(c: Ctx) {
    for (path, want) in [
        ("/v1/orgs/%FF", "org"),
        ("/v1/orgs/default/bots/%C3%28", "bot"),
        ("/v1/orgs/default/tokens/%FF", "id"),
    ] {
        let (s, v) = c.get(path, &c.owner).await;
        assert!(v.is_object(), "{path}: not JSON: {v}");
        invalid(path, (s, v), want);
    }
}

/// serde fills a struct from an array positionally: `PATCH […]` changed a bot.
async fn an_array_is_not_a_body(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
    let (id, _) = c.issue("steve").await;
    for (method, uri, body) in [
        (
            "PATCH",
            "/v1/orgs/default/bots/steve".to_string(),
            json!(["renamed", "desc"]),
        ),
        (
            "POST",
            "/v1/orgs/default/bots".to_string(),
            json!(["other"]),
        ),
        (
            "POST",
            "/v1/orgs/default/tokens".to_string(),
            json!(["steve"]),
        ),
        (
            "PATCH",
            format!("/v1/orgs/default/tokens/{id}"),
            json!(["label"]),
        ),
        (
            "DELETE",
            format!("/v1/orgs/default/tokens/{id}"),
            json!(["reason"]),
        ),
        ("POST", "/v1/orgs".to_string(), json!(["acme"])),
        (
            "PUT",
            "/v1/orgs/default/bots/steve/identities/slack".to_string(),
            json!(["U1"]),
        ),
        ("POST", "/v1/orgs/default/bots".to_string(), json!("steve")),
        ("POST", "/v1/orgs/default/bots".to_string(), json!(null)),
    ] {
        let r = c.call(method, &uri, Some(&c.owner), Some(body)).await;
        invalid(&format!("{method} {uri}"), r, "body");
    }
    let (_, bot) = c.get("/v1/orgs/default/bots/steve", &c.owner).await;
    assert_eq!(
        (bot["username"].as_str(), bot["description"].as_str()),
        (Some("steve"), Some(""))
    );
    assert_eq!(
        c.get(&format!("/v1/orgs/default/tokens/{id}"), &c.owner)
            .await
            .1["status"],
        "active"
    );
}

async fn unknown_body_fields_are_refused_naming_them(c: Ctx) {
    c.bot("steve", &[]).await;
    let r = c
        .create("bots", json!({"username": "x", "permisions": []}))
        .await;
    invalid("typo", r, "permisions");
    let r = c
        .patch("/v1/orgs/default/bots/steve", json!({"name": "y"}))
        .await;
    invalid("patch", r, "name");
    let r = c
        .create("tokens", json!({"owner": "steve", "ttl": "1d"}))
        .await;
    invalid("issue", r, "ttl");
    let r = c.create("bots", json!({"description": "no name"})).await;
    invalid("missing", r, "username");
}

/// Owners, apps and route segments that can name nothing are 400 before any lookup.
async fn references_are_checked_before_any_lookup(c: Ctx) {
    c.bot("steve", &[]).await;
    for (body, want) in [
        (json!({"owner": " steve"}), "owner"),
        (json!({"owner": "x".repeat(300)}), "owner"),
        (json!({"owner": "steve", "app": "No App"}), "app"),
    ] {
        invalid("issue", c.create("tokens", body).await, want);
    }
    invalid(
        "long org",
        c.get(&format!("/v1/orgs/{}", "a".repeat(64)), &c.owner)
            .await,
        "org",
    );
    invalid(
        "bad bot",
        c.get("/v1/orgs/default/bots/Steve", &c.owner).await,
        "bot",
    );
    invalid(
        "bad user",
        c.get("/v1/orgs/default/users/nobody", &c.owner).await,
        "user",
    );
    // Well-formed but absent is still 404.
    let (s, _) = c.get("/v1/orgs/default/bots/nobody", &c.owner).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = c
        .get("/v1/orgs/default/users/nobody@example.com", &c.owner)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn expires_at_takes_a_time_not_a_duration(c: Ctx) {
    c.bot("steve", &[]).await;
    let r = c
        .create("tokens", json!({"owner": "steve", "expires_at": "1d"}))
        .await;
    invalid("duration as a time", r, "expires_at");
    let r = c
        .create(
            "tokens",
            json!({"owner": "steve", "expiry": "1s".repeat(40)}),
        )
        .await;
    invalid("long expiry", r, "expiry");
}

async fn the_openapi_document_publishes_the_bounds(c: Ctx) {
    let (_, doc) = c.public("/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    for name in [
        "CreateBot",
        "UpdateBot",
        "CreateUser",
        "UpdateUser",
        "CreateOrg",
        "CreateApp",
        "IssueToken",
        "UpdateToken",
        "PutIdentity",
        "RevokeToken",
    ] {
        assert_eq!(
            schemas[name]["additionalProperties"],
            json!(false),
            "{name}"
        );
    }
    let username = &schemas["CreateBot"]["properties"]["username"];
    assert_eq!(
        (
            username["minLength"].as_u64(),
            username["maxLength"].as_u64()
        ),
        (Some(1), Some(63))
    );
    assert!(username["pattern"].is_string());
    assert_eq!(
        schemas["CreateBot"]["properties"]["permissions"]["maxItems"],
        100
    );
    assert_eq!(
        schemas["IssueToken"]["properties"]["label"]["maxLength"],
        200
    );
    let params = |path: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone()
    };
    let limit = params("/v1/orgs/{org}/bots")
        .into_iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (
            limit["schema"]["minimum"].as_u64(),
            limit["schema"]["maximum"].as_u64()
        ),
        (Some(1), Some(500))
    );
    for p in params("/v1/orgs/{org}/bots/{bot}") {
        assert!(p["schema"]["pattern"].is_string(), "{p}");
    }
    let tokens = params("/v1/orgs/{org}/tokens");
    let scope = tokens.iter().find(|p| p["name"] == "scope").unwrap();
    assert_eq!(scope["schema"]["enum"], json!(["org", "app"]));
}
