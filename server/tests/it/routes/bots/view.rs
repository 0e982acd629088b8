//! `GET /v1/orgs/{org}/bots/{bot}`.

use crate::{both, code, snapshot, Ctx};
use axum::http::StatusCode;

both!(a_bot_is_found_by_name_or_id, an_unknown_bot_is_404);

async fn a_bot_is_found_by_name_or_id(c: Ctx) {
    let b = c.bot("steve", &[]).await;
    let id = b["id"].as_str().unwrap();
    for r in ["steve", id] {
        let (s, v) = c.get(&format!("/v1/orgs/default/bots/{r}"), &c.owner).await;
        assert_eq!((s, v["id"].as_str()), (StatusCode::OK, Some(id)));
    }
}

async fn an_unknown_bot_is_404(c: Ctx) {
    let (s, v) = c.get("/v1/orgs/default/bots/steve", &c.owner).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    snapshot!("error_404_bot", v);
}
