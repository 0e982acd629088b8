//! `DELETE /v1/orgs/{org}/bots/{bot}` (that it revokes the bot's tokens:
//! `revocations.rs` and `forged.rs`).

use crate::{both, code, Ctx};
use axum::http::StatusCode;

both!(a_deleted_bot_is_gone);

async fn a_deleted_bot_is_gone(c: Ctx) {
    c.bot("steve", &[]).await;
    let (s, _) = c.delete("/v1/orgs/default/bots/steve").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = c.get("/v1/orgs/default/bots/steve", &c.owner).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}
