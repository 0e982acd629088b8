//! `POST,GET /v1/orgs/{org}/users`, `GET,PATCH,DELETE /v1/orgs/{org}/users/{user}`.

use crate::{both, code, count, field, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    creating_answers_the_user,
    a_bad_email_is_400,
    a_taken_email_is_409,
    view_shows_the_permissions,
    patch_replaces_the_permissions,
    humans_hold_only_short_lived_tokens,
    a_user_token_works,
    the_list_shows_every_user,
    a_deleted_users_tokens_die_with_it
);

const ANN: &str = "/v1/orgs/default/users/ann@example.com";

async fn ann(c: &Ctx) -> (StatusCode, Value) {
    c.create(
        "users",
        json!({"email": "ann@example.com", "permissions": ["bots:get,list:*"]}),
    )
    .await
}

/// A token of ann's, as long-lived as a human's may be.
async fn ann_token(c: &Ctx) -> String {
    ann(c).await;
    c.issue_with(json!({"owner": "ann@example.com", "expiry": "8h"}))
        .await
        .1
}

async fn creating_answers_the_user(c: Ctx) {
    let (s, v) = ann(&c).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    snapshot!("created_user", v);
}

async fn a_bad_email_is_400(c: Ctx) {
    let (s, v) = c.create("users", json!({"email": "not-an-email"})).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "email"));
}

async fn a_taken_email_is_409(c: Ctx) {
    ann(&c).await;
    let (s, _) = c.create("users", json!({"email": "ann@example.com"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

async fn view_shows_the_permissions(c: Ctx) {
    ann(&c).await;
    let (s, v) = c.get(ANN, &c.owner).await;
    assert_eq!(
        (s, v["permissions"].clone()),
        (StatusCode::OK, json!(["bots:get,list:*"]))
    );
}

async fn patch_replaces_the_permissions(c: Ctx) {
    ann(&c).await;
    let (s, v) = c.patch(ANN, json!({"permissions": ["bots:list:*"]})).await;
    assert_eq!(
        (s, v["permissions"].clone()),
        (StatusCode::OK, json!(["bots:list:*"]))
    );
}

async fn humans_hold_only_short_lived_tokens(c: Ctx) {
    ann(&c).await;
    let (s, v) = c
        .create(
            "tokens",
            json!({"owner": "ann@example.com", "expiry": "100d"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "lifetime_exceeded")
    );
}

async fn a_user_token_works(c: Ctx) {
    let t = ann_token(&c).await;
    assert_eq!(c.status("/v1/orgs/default/bots", &t).await, StatusCode::OK);
}

async fn the_list_shows_every_user(c: Ctx) {
    ann(&c).await;
    let (_, v) = c.get("/v1/orgs/default/users", &c.owner).await;
    assert_eq!(count(&v), 2, "owner and ann");
}

async fn a_deleted_users_tokens_die_with_it(c: Ctx) {
    let t = ann_token(&c).await;
    let (s, _) = c.delete(ANN).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        c.status("/v1/orgs/default/bots", &t).await,
        StatusCode::UNAUTHORIZED,
        "a deleted user's tokens die with it"
    );
}
