//! `GET /v1/orgs/{org}/audit`: every mutation, nothing else, never a secret.

use crate::{both, snapshot, Ctx, OWNER};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    failed_requests_leave_no_entry,
    an_entry_names_the_actor_and_the_target,
    the_log_holds_no_jwt,
    a_bot_create_and_delete_are_logged,
    the_log_needs_audit_rights
);

/// A bot `steve`, a token of it issued then revoked, and a refused bot create;
/// answers the token's id.
async fn history(c: &Ctx) -> String {
    c.bot("steve", &["*:*:*"]).await;
    let (id, _) = c.issue("steve").await;
    c.revoke(&id).await;
    c.create("bots", json!({"username": "BAD"})).await;
    id
}

async fn audit(c: &Ctx) -> Value {
    let (s, v) = c.get("/v1/orgs/default/audit", &c.owner).await;
    assert_eq!(s, StatusCode::OK);
    v
}

async fn failed_requests_leave_no_entry(c: Ctx) {
    history(&c).await;
    let v = audit(&c).await;
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
}

async fn an_entry_names_the_actor_and_the_target(c: Ctx) {
    let id = history(&c).await;
    let v = audit(&c).await;
    let e = &v["items"][2];
    assert_eq!(
        (e["actor"].as_str(), e["target_id"].as_str()),
        (Some(OWNER), Some(id.as_str()))
    );
}

async fn the_log_holds_no_jwt(c: Ctx) {
    history(&c).await;
    assert!(
        !audit(&c).await.to_string().contains("eyJ"),
        "no JWT in the audit log"
    );
}

async fn a_bot_create_and_delete_are_logged(c: Ctx) {
    c.bot("steve", &["machines:get:*"]).await;
    c.delete("/v1/orgs/default/bots/steve").await;
    let v = audit(&c).await;
    let items = v["items"].as_array().unwrap();
    snapshot!("bot_create_and_delete", items[1..]);
}

async fn the_log_needs_audit_rights(c: Ctx) {
    let weak = c.bot_token("weak", &["bots:list:*"]).await;
    assert_eq!(
        c.status("/v1/orgs/default/audit", &weak).await,
        StatusCode::FORBIDDEN
    );
}
