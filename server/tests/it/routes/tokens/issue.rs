//! `POST /v1/orgs/{org}/tokens`: what an issued token is, and what is refused.

use crate::harness::T0;
use crate::{both, code, count, field, msg, payload, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    issuing_answers_the_token_and_its_metadata,
    default_claims_are_the_owners_permissions,
    the_expiry_counts_from_now,
    the_jwt_carries_the_spec_payload,
    narrower_claims_and_an_absolute_expiry,
    bad_input_is_refused_naming_the_field,
    a_bad_expiry_shows_the_accepted_forms,
    refused_input_mints_nothing,
    a_bad_bearer_is_401,
    bindings_are_checked_and_stored
);

/// The issue answer of a token of `steve` labelled `ci`, valid 100 days.
async fn steve_token(c: &Ctx) -> Value {
    c.bot("steve", &["machines:get,list:*", "bots:list:*"])
        .await;
    let (s, v) = c
        .create(
            "tokens",
            json!({"owner": "steve", "expiry": "100d", "label": "ci"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Requests refused, with the status, code and field of the error.
fn refused() -> Vec<(Value, StatusCode, &'static str, &'static str)> {
    use StatusCode as S;
    vec![
        (
            json!({"owner": "steve", "expiry": "10 days"}),
            S::BAD_REQUEST,
            "invalid_input",
            "expiry",
        ),
        (
            json!({"owner": "steve", "expiry": "1d", "expires_at": "2030-01-01T00:00:00Z"}),
            S::BAD_REQUEST,
            "invalid_input",
            "expires_at",
        ),
        (
            json!({"owner": "steve", "expires_at": "tomorrow"}),
            S::BAD_REQUEST,
            "invalid_input",
            "expires_at",
        ),
        (
            json!({"owner": "steve", "expires_at": "2001-01-01T00:00:00Z"}),
            S::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "expires_at",
        ),
        (
            json!({"owner": "steve", "claims": ["machines"]}),
            S::BAD_REQUEST,
            "invalid_input",
            "claims",
        ),
        (
            json!({"owner": "steve", "claims": ["machines:delete:*"]}),
            S::UNPROCESSABLE_ENTITY,
            "claims_exceed_owner",
            "claims",
        ),
        (
            json!({"owner": "nobody"}),
            S::NOT_FOUND,
            "not_found",
            "owner",
        ),
        (
            json!({"owner": ""}),
            S::BAD_REQUEST,
            "invalid_input",
            "owner",
        ),
        (
            json!({"owner": "steve", "app": "nope"}),
            S::NOT_FOUND,
            "not_found",
            "app",
        ),
        (
            json!({"owner": "steve", "label": "x".repeat(201)}),
            S::BAD_REQUEST,
            "invalid_input",
            "label",
        ),
        (
            json!({"owner": "steve", "expires_at": "9999-01-01T00:00:00Z"}),
            S::UNPROCESSABLE_ENTITY,
            "lifetime_exceeded",
            "expiry",
        ),
    ]
}

async fn issuing_answers_the_token_and_its_metadata(c: Ctx) {
    let v = steve_token(&c).await;
    assert_eq!(v["label"], "ci");
    assert_eq!(v["scope"], "org");
    assert_eq!(v["status"], "active");
    assert_eq!(v["owner"], "steve");
    assert_eq!(v["created_by_name"], crate::OWNER);
    snapshot!("issued_token", v);
}

async fn default_claims_are_the_owners_permissions(c: Ctx) {
    let v = steve_token(&c).await;
    assert_eq!(
        v["claims"],
        json!(["machines:get,list:*", "bots:list:*"]),
        "default claims are the owner's permissions"
    );
}

async fn the_expiry_counts_from_now(c: Ctx) {
    let v = steve_token(&c).await;
    let exp = time::OffsetDateTime::parse(
        v["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(exp.unix_timestamp(), T0 + 100 * 86_400);
}

/// The JWT carries the payload of SPEC §3.
async fn the_jwt_carries_the_spec_payload(c: Ctx) {
    let v = steve_token(&c).await;
    let payload = payload(v["token"].as_str().unwrap());
    for k in [
        "iss", "sub", "org", "jti", "iat", "nbf", "exp", "claims", "kind",
    ] {
        assert!(payload.get(k).is_some(), "payload lacks {k}: {payload}");
    }
    assert_eq!(
        (payload["jti"].as_str(), payload["kind"].as_str()),
        (v["id"].as_str(), Some("bot"))
    );
}

async fn narrower_claims_and_an_absolute_expiry(c: Ctx) {
    c.bot("steve", &["machines:get,list:*", "bots:list:*"])
        .await;
    let (s, v) = c
        .create(
            "tokens",
            json!({"owner": "steve", "claims": ["machines:list:*"], "expires_at": "2030-06-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (s, v["claims"].clone(), v["expires_at"].as_str()),
        (
            StatusCode::CREATED,
            json!(["machines:list:*"]),
            Some("2030-06-01T00:00:00Z")
        )
    );
}

/// Every refusal names the field at fault; the snapshot shows every message.
async fn bad_input_is_refused_naming_the_field(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
    let mut answers = Vec::new();
    for (body, status, want_code, want_field) in refused() {
        let (s, v) = c.create("tokens", body.clone()).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (status, want_code, want_field),
            "{body} → {v}"
        );
        // The request as one line, so the snapshot's redactions leave it alone.
        let request = body.to_string().replace(&"x".repeat(201), "x × 201");
        answers.push(json!({"request": request, "status": s.as_u16(), "answer": v}));
    }
    snapshot!("issue_refusals", answers);
}

async fn a_bad_expiry_shows_the_accepted_forms(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
    let (_, v) = c
        .create("tokens", json!({"owner": "steve", "expiry": "10 days"}))
        .await;
    assert!(
        msg(&v).contains("100d") && msg(&v).contains("RFC 3339"),
        "shows accepted forms: {v}"
    );
}

async fn refused_input_mints_nothing(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
    for (body, ..) in refused() {
        c.create("tokens", body).await;
    }
    let (_, v) = c
        .get("/v1/orgs/default/tokens?include_revoked=true", &c.owner)
        .await;
    assert_eq!(
        count(&v),
        1,
        "only the bootstrap token: bad input minted nothing"
    );
}

async fn a_bad_bearer_is_401(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
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

/// `allowed_cidrs` and `max_uses`: stored canonically (a bare address is a
/// host network, duplicates dropped), audited; malformed, a 400 naming the
/// field, and nothing minted.
async fn bindings_are_checked_and_stored(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (s, v) = c
        .create(
            "tokens",
            json!({"owner": "steve", "allowed_cidrs": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "10.0.0.0/8"],
                "max_uses": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["allowed_cidrs"],
        json!(["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"])
    );
    assert_eq!(
        (v["max_uses"].as_i64(), v["uses"].as_i64()),
        (Some(3), Some(0))
    );
    let (_, audit) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token.issue" && e["target_id"] == v["id"])
        .unwrap()
        .clone();
    assert_eq!(entry["details"]["max_uses"], 3);
    let before = count(
        &c.get("/v1/orgs/default/tokens?owner=steve", &c.owner)
            .await
            .1,
    );
    // Of the right form, but no network: refused for what it means.
    let (s, v) = c
        .create(
            "tokens",
            json!({"owner": "steve", "allowed_cidrs": ["10.0.0.1/8"]}),
        )
        .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "allowed_cidrs"),
        "{v}"
    );
    assert!(msg(&v).contains("10.0.0.0/8"), "{v}");
    for (body, f, words) in [
        (
            json!({"allowed_cidrs": [" 10.0.0.0/8"]}),
            "allowed_cidrs",
            "not an IPv4",
        ),
        (
            json!({"allowed_cidrs": ["example.com"]}),
            "allowed_cidrs",
            "IPv6",
        ),
        (
            json!({"allowed_cidrs": (0..33).map(|i| format!("10.0.{i}.0/24")).collect::<Vec<_>>()}),
            "allowed_cidrs",
            "32",
        ),
        (json!({"max_uses": 0}), "max_uses", "1 to 1000000"),
        (json!({"max_uses": 1_000_001}), "max_uses", "1 to 1000000"),
    ] {
        let mut body = body;
        body["owner"] = json!("steve");
        let (s, v) = c.create("tokens", body.clone()).await;
        assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, f), "{body}: {v}");
        assert!(msg(&v).contains(words), "{v}");
    }
    let after = count(
        &c.get("/v1/orgs/default/tokens?owner=steve", &c.owner)
            .await
            .1,
    );
    assert_eq!(before, after);
}
