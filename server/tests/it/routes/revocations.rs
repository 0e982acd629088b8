//! `GET /v1/revocations?since=`: the revocation feed.

use crate::{both, column, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    the_feed_starts_empty,
    a_revocation_enters_the_feed,
    deleting_a_bot_revokes_its_remaining_tokens_once,
    a_negative_since_is_400,
    the_feed_is_not_for_app_tokens
);

/// The feed since `cursor`, as the owner.
async fn feed(c: &Ctx, since: i64) -> Value {
    let (s, v) = c
        .get(&format!("/v1/revocations?since={since}"), &c.owner)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn the_feed_starts_empty(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    c.issue("steve").await;
    assert_eq!(feed(&c, 0).await["items"], json!([]));
}

async fn a_revocation_enters_the_feed(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (a, _) = c.issue("steve").await;
    c.issue("steve").await;
    let start = feed(&c, 0).await["cursor"].as_i64().unwrap();
    c.revoke(&a).await;
    let v = feed(&c, start).await;
    assert_eq!(column(&v, "token_id"), vec![a.as_str()]);
    snapshot!("revocation_feed", v);
}

async fn deleting_a_bot_revokes_its_remaining_tokens_once(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (a, _) = c.issue("steve").await;
    let (b, _) = c.issue("steve").await;
    c.revoke(&a).await;
    let cur = feed(&c, 0).await["cursor"].as_i64().unwrap();
    c.delete("/v1/orgs/default/bots/steve").await;
    assert_eq!(
        column(&feed(&c, cur).await, "token_id"),
        vec![b.as_str()],
        "deleting the bot revoked its remaining token, once"
    );
}

async fn a_negative_since_is_400(c: Ctx) {
    assert_eq!(
        c.status("/v1/revocations?since=-1", &c.owner).await,
        StatusCode::BAD_REQUEST
    );
}

async fn the_feed_is_not_for_app_tokens(c: Ctx) {
    c.app("web").await;
    let t = c.app_token("watcher", "web").await;
    assert_eq!(
        c.status("/v1/revocations?since=0", &t).await,
        StatusCode::FORBIDDEN,
        "the feed spans the org"
    );
}
