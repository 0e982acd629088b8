//! `POST /v1/orgs/{org}/tokens` with an `Idempotency-Key`: a retried request
//! never mints a second token.

use crate::{both, code, count, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    a_retry_answers_the_first_token,
    a_retry_mints_nothing,
    the_same_key_with_another_body_is_422,
    another_key_mints_another_token,
    the_stored_answer_is_encrypted,
    keys_are_per_calling_token
);

/// Issues a token of `steve` labelled `label` as `by`, under the key `key`.
async fn issue(c: &Ctx, by: &str, key: &str, label: &str) -> (StatusCode, Value) {
    let body = json!({"owner": "steve", "label": label});
    let mut req = c.request("POST", "/v1/orgs/default/tokens", Some(by), Some(body));
    req.headers_mut()
        .insert("idempotency-key", key.parse().unwrap());
    c.send(req).await
}

/// Bot `steve`, and the first answer to the key `k-1`.
async fn first(c: &Ctx) -> Value {
    c.bot("steve", &["*:*:*"]).await;
    let (s, a) = issue(c, &c.owner, "k-1", "ci").await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    a
}

async fn a_retry_answers_the_first_token(c: Ctx) {
    let a = first(&c).await;
    let (s, b) = issue(&c, &c.owner, "k-1", "ci").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        a["id"], b["id"],
        "a retried request answers the first token"
    );
    assert_eq!(a["token"], b["token"]);
}

async fn a_retry_mints_nothing(c: Ctx) {
    first(&c).await;
    issue(&c, &c.owner, "k-1", "ci").await;
    let (_, v) = c.get("/v1/orgs/default/tokens?owner=steve", &c.owner).await;
    assert_eq!(count(&v), 1, "one token minted");
}

async fn the_same_key_with_another_body_is_422(c: Ctx) {
    first(&c).await;
    let (s, v) = issue(&c, &c.owner, "k-1", "other").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_mismatch")
    );
}

async fn another_key_mints_another_token(c: Ctx) {
    let a = first(&c).await;
    let (s, b) = issue(&c, &c.owner, "k-2", "ci").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(b["id"], a["id"]);
}

async fn the_stored_answer_is_encrypted(c: Ctx) {
    let a = first(&c).await;
    assert!(
        !c.database_text()
            .await
            .contains(a["token"].as_str().unwrap()),
        "the stored answer is encrypted"
    );
}

/// Another token of the same principal never receives that answer.
async fn keys_are_per_calling_token(c: Ctx) {
    let a = first(&c).await;
    let (_, other_owner_token) = c
        .issue_with(json!({"owner": crate::OWNER, "expiry": "1h"}))
        .await;
    let (s, d) = issue(&c, &other_owner_token, "k-1", "ci").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(d["id"], a["id"], "keys are per calling token");
}
