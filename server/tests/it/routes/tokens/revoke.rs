//! `DELETE /v1/orgs/{org}/tokens/{id}`: revoke by id, idempotent, and who may.

use crate::{both, msg, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    revoking_answers_the_revoked_token,
    revoking_again_changes_nothing,
    a_revoked_token_is_refused,
    the_bot_and_its_other_tokens_are_untouched,
    a_token_may_revoke_itself_but_not_its_siblings,
    a_label_named_like_a_bot_grants_nothing,
    a_claim_naming_a_bot_reaches_its_tokens
);

fn path(id: &str) -> String {
    format!("/v1/orgs/default/tokens/{id}")
}

/// Revokes `id` as the owner, with the reason "leaked".
async fn revoke_leaked(c: &Ctx, id: &str) -> (StatusCode, serde_json::Value) {
    c.call(
        "DELETE",
        &path(id),
        Some(&c.owner),
        Some(json!({"reason": "leaked"})),
    )
    .await
}

async fn revoking_answers_the_revoked_token(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, _) = c.issue("steve").await;
    let (s, v) = revoke_leaked(&c, &id).await;
    assert_eq!(
        (s, v["status"].as_str(), v["revoke_reason"].as_str()),
        (StatusCode::OK, Some("revoked"), Some("leaked"))
    );
    snapshot!("revoked_token", v);
}

async fn revoking_again_changes_nothing(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, _) = c.issue("steve").await;
    let (_, v) = revoke_leaked(&c, &id).await;
    let first = v["revoked_at"].clone();
    c.advance(5);
    let (s, v) = c.revoke(&id).await;
    assert_eq!(
        (s, v["revoked_at"].clone()),
        (StatusCode::OK, first),
        "revoking again is a no-op"
    );
}

async fn a_revoked_token_is_refused(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, jwt) = c.issue("steve").await;
    c.revoke(&id).await;
    let (s, v) = c.get("/v1/whoami", &jwt).await;
    assert_eq!(
        (s, msg(&v)),
        (
            StatusCode::UNAUTHORIZED,
            "the bearer token has been revoked"
        )
    );
}

async fn the_bot_and_its_other_tokens_are_untouched(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (id, _) = c.issue("steve").await;
    let (_, other) = c.issue("steve").await;
    c.revoke(&id).await;
    assert_eq!(
        c.status("/v1/orgs/default/bots", &other).await,
        StatusCode::OK
    );
    assert_eq!(
        c.status("/v1/orgs/default/bots/steve", &c.owner).await,
        StatusCode::OK
    );
}

/// A token may revoke itself by id without tokens:revoke — not its siblings:
/// a leaked narrow token must not take down the bot's other tokens.
async fn a_token_may_revoke_itself_but_not_its_siblings(c: Ctx) {
    c.bot("steve", &["bots:list:*"]).await;
    let (sid, own) = c.issue("steve").await;
    let (sib, _) = c.issue("steve").await;
    let (s, _) = c.delete_as(&path(&sib), &own).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = c.delete_as(&path(&sid), &own).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("revoked")));
}

/// Claims name a token by id or by its owner, never by its free-text label.
async fn a_label_named_like_a_bot_grants_nothing(c: Ctx) {
    c.bot("ci", &[]).await;
    let mgr = c.bot_token("mgr", &["tokens:get,revoke:ci"]).await;
    c.bot("other", &[]).await;
    let (lookalike, _) = c.issue_with(json!({"owner": "other", "label": "ci"})).await;
    let (s, _) = c.delete_as(&path(&lookalike), &mgr).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a label named like the bot grants nothing"
    );
}

async fn a_claim_naming_a_bot_reaches_its_tokens(c: Ctx) {
    c.bot("ci", &[]).await;
    let mgr = c.bot_token("mgr", &["tokens:get,revoke:ci"]).await;
    let (ci_tok, _) = c.issue("ci").await;
    let (s, _) = c.delete_as(&path(&ci_tok), &mgr).await;
    assert_eq!(s, StatusCode::OK, "tokens:revoke:ci reaches ci's tokens");
}
