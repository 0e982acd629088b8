//! `GET /v1/orgs/{org}/bots`.

use crate::{both, Ctx};

both!(the_list_shows_live_token_counts);

async fn the_list_shows_live_token_counts(c: Ctx) {
    c.bot("steve", &["machines:get,list:*"]).await;
    c.issue("steve").await;
    let (id, _) = c.issue("steve").await;
    c.issue("steve").await;
    c.revoke(&id).await;
    let (_, v) = c.get("/v1/orgs/default/bots", &c.owner).await;
    assert_eq!(
        v["items"][0]["token_count"], 2,
        "list shows live token counts"
    );
}
