//! `PATCH /v1/orgs/{org}/bots/{bot}`.

use crate::{both, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    a_patch_changes_only_the_fields_given,
    a_bad_patch_changes_nothing
);

async fn a_patch_changes_only_the_fields_given(c: Ctx) {
    c.bot("steve", &["machines:get,list:*"]).await;
    let (s, v) = c
        .patch(
            "/v1/orgs/default/bots/steve",
            json!({"description": "CI deployer"}),
        )
        .await;
    assert_eq!(
        (s, v["description"].as_str()),
        (StatusCode::OK, Some("CI deployer"))
    );
    assert_eq!(
        v["permissions"],
        json!(["machines:get,list:*"]),
        "untouched fields stay"
    );
}

async fn a_bad_patch_changes_nothing(c: Ctx) {
    c.bot("dup", &[]).await;
    let (s, _) = c
        .patch(
            "/v1/orgs/default/bots/dup",
            json!({"description": "x", "permissions": ["bad"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = c.get("/v1/orgs/default/bots/dup", &c.owner).await;
    assert_eq!(v["description"], "");
}
