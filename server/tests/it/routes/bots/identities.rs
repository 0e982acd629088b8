//! `PUT,DELETE /v1/orgs/{org}/bots/{bot}/identities/{service}`: one service at a time.

use crate::{both, code, field, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    put_sets_one_service,
    put_keeps_the_other_services,
    put_replaces_one_service,
    delete_removes_one_service,
    deleting_a_missing_identity_is_404,
    a_bad_service_name_is_400,
    an_empty_identity_is_400
);

const SLACK: &str = "/v1/orgs/default/bots/id-bot/identities/slack";
const AWS_ARN: &str = "arn:aws:iam::1:user/x";

/// PUT `identity` for `service` of `id-bot`.
async fn put(c: &Ctx, service: &str, identity: &str) -> (StatusCode, Value) {
    c.put(
        &format!("/v1/orgs/default/bots/id-bot/identities/{service}"),
        json!({"identity": identity}),
    )
    .await
}

/// `id-bot`, known to slack as U123 and to aws as [`AWS_ARN`].
async fn with_two(c: &Ctx) {
    c.bot("id-bot", &[]).await;
    put(c, "slack", "U123").await;
    put(c, "aws", AWS_ARN).await;
}

async fn put_sets_one_service(c: Ctx) {
    c.bot("id-bot", &[]).await;
    let (s, v) = put(&c, "slack", "U123").await;
    assert_eq!(
        (s, v["identities"]["slack"].as_str()),
        (StatusCode::OK, Some("U123"))
    );
}

async fn put_keeps_the_other_services(c: Ctx) {
    c.bot("id-bot", &[]).await;
    put(&c, "slack", "U123").await;
    let (_, v) = put(&c, "aws", AWS_ARN).await;
    assert_eq!(v["identities"], json!({"slack": "U123", "aws": AWS_ARN}));
}

async fn put_replaces_one_service(c: Ctx) {
    with_two(&c).await;
    let (_, v) = put(&c, "slack", "U999").await;
    assert_eq!(v["identities"]["slack"], "U999", "PUT replaces one service");
    assert_eq!(v["identities"]["aws"], AWS_ARN);
}

async fn delete_removes_one_service(c: Ctx) {
    with_two(&c).await;
    let (s, v) = c.delete(SLACK).await;
    assert_eq!(
        (s, v["identities"].clone()),
        (StatusCode::OK, json!({"aws": AWS_ARN}))
    );
}

async fn deleting_a_missing_identity_is_404(c: Ctx) {
    with_two(&c).await;
    c.delete(SLACK).await;
    let (s, v) = c.delete(SLACK).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn a_bad_service_name_is_400(c: Ctx) {
    c.bot("id-bot", &[]).await;
    let (s, v) = put(&c, "BAD%20NAME", "x").await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "service"));
}

async fn an_empty_identity_is_400(c: Ctx) {
    c.bot("id-bot", &[]).await;
    let (s, v) = put(&c, "github", "").await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "identity"));
}
