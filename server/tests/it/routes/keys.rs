//! `POST /v1/keys/rotate`, and how the JWKS follows the keys.

use crate::{both, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    rotating_answers_a_new_kid,
    new_tokens_are_signed_with_the_new_key,
    old_tokens_keep_verifying,
    the_jwks_publishes_both_keys,
    rotating_needs_key_rights,
    an_old_key_leaves_the_jwks_once_its_tokens_expired
);

/// Rotates as the owner; answers (the old kid, the new kid).
async fn rotate(c: &Ctx) -> (String, String) {
    let old_kid = c.jwks_kids().await.remove(0);
    let (s, v) = c
        .call("POST", "/v1/keys/rotate", Some(&c.owner), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (old_kid, v["kid"].as_str().unwrap().to_string())
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

async fn rotating_answers_a_new_kid(c: Ctx) {
    let (old_kid, new_kid) = rotate(&c).await;
    assert_ne!(new_kid, old_kid);
}

async fn new_tokens_are_signed_with_the_new_key(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (_, new_kid) = rotate(&c).await;
    let (_, new) = c.issue("steve").await;
    assert_eq!(
        kid_of(&new),
        new_kid,
        "new tokens are signed with the new key"
    );
}

async fn old_tokens_keep_verifying(c: Ctx) {
    let old = c.bot_token("steve", &["*:*:*"]).await;
    rotate(&c).await;
    assert_eq!(
        c.status("/v1/whoami", &old).await,
        StatusCode::OK,
        "old tokens keep verifying"
    );
}

async fn the_jwks_publishes_both_keys(c: Ctx) {
    let (old_kid, new_kid) = rotate(&c).await;
    let kids = c.jwks_kids().await;
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));
}

async fn rotating_needs_key_rights(c: Ctx) {
    let weak = c.bot_token("weak", &["bots:list:*"]).await;
    assert_eq!(
        c.call("POST", "/v1/keys/rotate", Some(&weak), Some(json!({})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

/// Once every token the old key signed has expired, it leaves the JWKS.
/// (The bootstrap token, signed by the old key, lives 1 day; `old` 2 days.)
async fn an_old_key_leaves_the_jwks_once_its_tokens_expired(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    c.issue_with(json!({"owner": "steve", "expiry": "2d"}))
        .await;
    let (old_kid, new_kid) = rotate(&c).await;
    c.advance(86_400 + 1);
    assert!(
        c.jwks_kids().await.contains(&old_kid),
        "still signs a live token"
    );
    c.advance(86_400);
    assert_eq!(c.jwks_kids().await, vec![new_kid]);
}
