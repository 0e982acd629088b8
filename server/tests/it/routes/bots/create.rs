//! `POST /v1/orgs/{org}/bots`.

use crate::{both, code, count, field, msg, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    creating_answers_the_bot,
    invalid_fields_are_400_naming_the_field,
    a_bad_username_shows_the_accepted_form,
    a_missing_username_is_400,
    a_taken_username_is_409,
    failed_creates_leave_nothing_behind,
    an_empty_body_is_400_in_the_api_shape
);

/// Bodies refused with 400, and the field each error names.
fn invalid() -> [(Value, &'static str); 4] {
    [
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
    ]
}

async fn creating_answers_the_bot(c: Ctx) {
    let (s, b) = c
        .create(
            "bots",
            json!({
                "username": "steve",
                "description": "CI deployer",
                "permissions": ["machines:get,list:*"],
                "identities": {"slack": "U123"},
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["username"], "steve");
    assert_eq!(b["token_count"], 0);
    snapshot!("created_bot", b);
}

async fn invalid_fields_are_400_naming_the_field(c: Ctx) {
    for (body, f) in invalid() {
        let (s, v) = c.create("bots", body.clone()).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input", f),
            "{body}: {v}"
        );
    }
}

async fn a_bad_username_shows_the_accepted_form(c: Ctx) {
    let (s, v) = c.create("bots", json!({"username": "Bad Name"})).await;
    assert!(
        msg(&v).contains("[a-z0-9][a-z0-9._-]{0,62}"),
        "the message shows the accepted form: {v}"
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    snapshot!("error_400_username", v);
}

async fn a_missing_username_is_400(c: Ctx) {
    let (s, v) = c.create("bots", json!({"description": "no name"})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    assert!(msg(&v).contains("username"), "{v}");
}

async fn a_taken_username_is_409(c: Ctx) {
    c.bot("dup", &[]).await;
    let (s, v) = c.create("bots", json!({"username": "dup"})).await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (StatusCode::CONFLICT, "conflict", "username")
    );
    snapshot!("error_409_username", v);
}

async fn failed_creates_leave_nothing_behind(c: Ctx) {
    c.bot("dup", &[]).await;
    for (body, _) in invalid() {
        c.create("bots", body).await;
    }
    c.create("bots", json!({"description": "no name"})).await;
    c.create("bots", json!({"username": "dup"})).await;
    let (_, v) = c.get("/v1/orgs/default/bots", &c.owner).await;
    assert_eq!(count(&v), 1, "failed creates left nothing behind: {v}");
}

async fn an_empty_body_is_400_in_the_api_shape(c: Ctx) {
    let (s, v) = c
        .call("POST", "/v1/orgs/default/bots", Some(&c.owner), None)
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_input"),
        "empty body is a 400 in the API's shape"
    );
}
