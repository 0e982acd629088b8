//! `PATCH /v1/orgs/{org}/tokens/{id}`: change the label, shorten (never extend) the expiry.

use crate::{both, code, field, msg, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    a_label_change_keeps_the_jwt_valid,
    extending_the_expiry_is_422,
    a_shortened_expiry_wins_over_the_jwts_exp,
    a_bad_expiry_is_400,
    a_revoked_token_cannot_be_changed
);

/// A token of `steve`'s valid 30 days; answers (jwt, the token's path).
async fn steve_token(c: &Ctx) -> (String, String) {
    c.bot("steve", &["*:*:*"]).await;
    let (id, jwt) = c
        .issue_with(json!({"owner": "steve", "expiry": "30d"}))
        .await;
    (jwt, format!("/v1/orgs/default/tokens/{id}"))
}

async fn a_label_change_keeps_the_jwt_valid(c: Ctx) {
    let (jwt, path) = steve_token(&c).await;
    let (s, v) = c.patch(&path, json!({"label": "renamed"})).await;
    assert_eq!((s, v["label"].as_str()), (StatusCode::OK, Some("renamed")));
    assert_eq!(
        c.status("/v1/whoami", &jwt).await,
        StatusCode::OK,
        "a label change keeps the JWT valid"
    );
}

async fn extending_the_expiry_is_422(c: Ctx) {
    let (_, path) = steve_token(&c).await;
    let (s, v) = c.patch(&path, json!({"expiry": "60d"})).await;
    assert_eq!(
        (s, code(&v), field(&v)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "expiry_extension",
            "expiry"
        )
    );
}

/// Shortened: the JWT's own `exp` is later, the server's word wins.
async fn a_shortened_expiry_wins_over_the_jwts_exp(c: Ctx) {
    let (jwt, path) = steve_token(&c).await;
    let (s, v) = c.patch(&path, json!({"expiry": "1h", "label": "x"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    c.advance(3600);
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(
        (s, msg(&v)),
        (StatusCode::UNAUTHORIZED, "the bearer token has expired")
    );
    let (_, v) = c.get(&path, &c.owner).await;
    assert_eq!(v["status"], "expired");
}

async fn a_bad_expiry_is_400(c: Ctx) {
    let (_, path) = steve_token(&c).await;
    let (s, _) = c.patch(&path, json!({"expiry": "bad"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn a_revoked_token_cannot_be_changed(c: Ctx) {
    let (_, path) = steve_token(&c).await;
    c.delete(&path).await;
    let (s, _) = c.patch(&path, json!({"label": "x"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
