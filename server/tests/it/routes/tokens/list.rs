//! `GET /v1/orgs/{org}/tokens`: filters and cursor pages.

use crate::{both, count, field, snapshot, Ctx};
use axum::http::StatusCode;
use serde_json::json;

both!(
    owner_filters,
    revoked_tokens_are_hidden_by_default,
    include_revoked_shows_them,
    app_filters,
    scope_filters,
    a_bad_scope_is_400,
    the_cursor_walks_every_token_once,
    a_bad_limit_or_cursor_is_400
);

const TOKENS: &str = "/v1/orgs/default/tokens";

/// Bots `a` and `b`, an app `web`; three tokens of a, then two of b: one
/// revoked, one scoped to web. With the bootstrap token: six, one second apart.
async fn fixture(c: &Ctx) {
    c.bot("a", &["*:*:*"]).await;
    c.bot("b", &["*:*:*"]).await;
    c.app("web").await;
    for n in 0..3 {
        c.advance(1);
        c.issue_with(json!({"owner": "a", "label": format!("a-{n}")}))
            .await;
    }
    c.advance(1);
    let (rid, _) = c.issue_with(json!({"owner": "b", "label": "leaked"})).await;
    c.advance(1);
    c.issue_with(json!({"owner": "b", "app": "web", "label": "web"}))
        .await;
    c.revoke(&rid).await;
}

/// The number of tokens `GET /v1/orgs/default/tokens?{query}` lists.
async fn listed(c: &Ctx, query: &str) -> usize {
    let (s, v) = c.get(&format!("{TOKENS}?{query}"), &c.owner).await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    count(&v)
}

async fn owner_filters(c: Ctx) {
    fixture(&c).await;
    assert_eq!(listed(&c, "owner=a").await, 3);
}

async fn revoked_tokens_are_hidden_by_default(c: Ctx) {
    fixture(&c).await;
    assert_eq!(
        listed(&c, "owner=b").await,
        1,
        "revoked tokens are hidden by default"
    );
}

async fn include_revoked_shows_them(c: Ctx) {
    fixture(&c).await;
    let (_, v) = c
        .get(&format!("{TOKENS}?owner=b&include_revoked=true"), &c.owner)
        .await;
    assert_eq!(count(&v), 2);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["status"] == "revoked"));
    snapshot!("token_list_page", v);
}

async fn app_filters(c: Ctx) {
    fixture(&c).await;
    assert_eq!(listed(&c, "app=web").await, 1);
}

async fn scope_filters(c: Ctx) {
    fixture(&c).await;
    assert_eq!(
        listed(&c, "scope=org").await,
        4,
        "3 of a + the bootstrap token"
    );
    assert_eq!(listed(&c, "scope=app").await, 1);
}

async fn a_bad_scope_is_400(c: Ctx) {
    let (s, v) = c.get(&format!("{TOKENS}?scope=team"), &c.owner).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "scope"));
}

async fn the_cursor_walks_every_token_once(c: Ctx) {
    fixture(&c).await;
    let mut seen = Vec::new();
    let mut url = format!("{TOKENS}?limit=2&include_revoked=true");
    loop {
        let (s, v) = c.get(&url, &c.owner).await;
        assert_eq!(s, StatusCode::OK);
        assert!(count(&v) <= 2);
        seen.extend(crate::column(&v, "id"));
        match v["next_cursor"].as_str() {
            Some(cur) => url = format!("{TOKENS}?limit=2&include_revoked=true&cursor={cur}"),
            None => break,
        }
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!((seen.len(), dedup.len()), (6, 6));
}

async fn a_bad_limit_or_cursor_is_400(c: Ctx) {
    assert_eq!(
        c.status(&format!("{TOKENS}?limit=0"), &c.owner).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.status(&format!("{TOKENS}?cursor=%%%"), &c.owner).await,
        StatusCode::BAD_REQUEST
    );
}
