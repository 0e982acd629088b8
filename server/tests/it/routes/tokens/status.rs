//! Token status (SPEC §6): `status` and `revoked_reason` in views and
//! lists, the list filters `status=` (repeatable or comma-separated),
//! `expiring_within=` and `parent=`, in SQL with cursor pages intact; dead
//! tokens stay viewable.

use crate::{both, code, column, count, field, msg, Ctx};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

both!(
    views_carry_status_and_reason,
    dead_tokens_stay_viewable_for_90_days,
    status_filters_repeated_or_comma_separated,
    a_bad_status_is_400_naming_the_values,
    exhausted_tokens_filter_and_show,
    expiring_within_lists_active_tokens_expiring_soon,
    parent_lists_direct_children,
    filtered_pages_walk_every_token_once
);

const TOKENS: &str = "/v1/orgs/default/tokens";

async fn view(c: &Ctx, id: &str) -> Value {
    view_as(c, id, &c.owner).await
}

async fn view_as(c: &Ctx, id: &str, token: &str) -> Value {
    let (s, v) = c.get(&format!("{TOKENS}/{id}"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// The ids listed by `GET …/tokens?{query}` (one page of up to 500).
async fn ids(c: &Ctx, query: &str) -> BTreeSet<String> {
    let (s, v) = c
        .get(&format!("{TOKENS}?limit=500&{query}"), &c.owner)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    column(&v, "id").into_iter().collect()
}

/// Tokens of bot `b` (besides the bootstrap owner's): active (expires in
/// 10d), expiring (1d), revoked (reason `rotated`), expired (1h, then 2h
/// pass). Answers their ids in that order.
async fn fixture(c: &Ctx) -> [String; 4] {
    c.bot("b", &["bots:list:*"]).await;
    let active = c.issue_with(json!({"owner": "b", "expiry": "10d"})).await.0;
    let soon = c.issue_with(json!({"owner": "b", "expiry": "1d"})).await.0;
    let revoked = c.issue_with(json!({"owner": "b", "expiry": "1d"})).await.0;
    let expired = c.issue_with(json!({"owner": "b", "expiry": "1h"})).await.0;
    let (s, v) = c
        .call(
            "DELETE",
            &format!("{TOKENS}/{revoked}"),
            Some(&c.owner),
            Some(json!({"reason": "rotated"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    c.advance(7200);
    [active, soon, revoked, expired]
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn views_carry_status_and_reason(c: Ctx) {
    let [active, _, revoked, expired] = fixture(&c).await;
    let v = view(&c, &active).await;
    assert_eq!(
        (v["status"].as_str(), &v["revoked_reason"]),
        (Some("active"), &Value::Null)
    );
    let v = view(&c, &revoked).await;
    assert_eq!(
        (v["status"].as_str(), v["revoked_reason"].as_str()),
        (Some("revoked"), Some("rotated"))
    );
    assert_eq!(view(&c, &expired).await["status"], "expired");
    // Lists carry the same.
    let (_, page) = c
        .get(&format!("{TOKENS}?owner=b&include_revoked=true"), &c.owner)
        .await;
    let statuses: BTreeSet<String> = column(&page, "status").into_iter().collect();
    let want: BTreeSet<String> = ["active", "expired", "revoked"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(statuses, want);
}

async fn dead_tokens_stay_viewable_for_90_days(c: Ctx) {
    // An admin whose token outlives the bootstrap owner's.
    c.bot("admin", &["*:*:*"]).await;
    let (_, admin) = c
        .issue_with(json!({"owner": "admin", "expiry": "200d"}))
        .await;
    let [_, soon, revoked, expired] = fixture(&c).await;
    c.advance(91 * 86_400);
    assert_eq!(view_as(&c, &revoked, &admin).await["status"], "revoked");
    assert_eq!(view_as(&c, &expired, &admin).await["status"], "expired");
    assert_eq!(view_as(&c, &soon, &admin).await["status"], "expired");
    let (s, v) = c
        .get(
            &format!("{TOKENS}?owner=b&status=revoked,expired&limit=500"),
            &admin,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(count(&v), 4, "{v}");
}

async fn status_filters_repeated_or_comma_separated(c: Ctx) {
    let [active, soon, revoked, expired] = fixture(&c).await;
    assert_eq!(ids(&c, "owner=b&status=revoked").await, set(&[&revoked]));
    assert_eq!(ids(&c, "owner=b&status=expired").await, set(&[&expired]));
    assert_eq!(
        ids(&c, "owner=b&status=active").await,
        set(&[&active, &soon])
    );
    let both = set(&[&revoked, &expired]);
    assert_eq!(ids(&c, "owner=b&status=revoked&status=expired").await, both);
    assert_eq!(ids(&c, "owner=b&status=revoked,expired").await, both);
    assert_eq!(ids(&c, "owner=b&status=revoked%2Cexpired").await, both);
    // Given, status replaces include_revoked.
    assert_eq!(
        ids(&c, "owner=b&status=revoked&include_revoked=false").await,
        set(&[&revoked])
    );
    // The default is the active tokens.
    assert_eq!(
        ids(&c, "owner=b").await,
        ids(&c, "owner=b&status=active").await
    );
}

async fn a_bad_status_is_400_naming_the_values(c: Ctx) {
    for q in [
        "status=dead",
        "status=revoked,dead",
        "status=revoked&status=",
        "status=Active",
    ] {
        let (s, v) = c.get(&format!("{TOKENS}?{q}"), &c.owner).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input", "status"),
            "{q}: {v}"
        );
        assert!(
            msg(&v).contains("active, expired, revoked, exhausted"),
            "{v}"
        );
    }
    // Other parameters are still refused when repeated.
    let (s, v) = c.get(&format!("{TOKENS}?owner=a&owner=b"), &c.owner).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "owner"), "{v}");
}

async fn exhausted_tokens_filter_and_show(c: Ctx) {
    c.bot("b", &["bots:list:*"]).await;
    let (id, _) = c.issue_with(json!({"owner": "b", "max_uses": 3})).await;
    let (other, _) = c.issue_with(json!({"owner": "b", "max_uses": 3})).await;
    // Uses are counted by authentication; here they are set directly.
    let mut conn = c.state.store.pool.acquire().await.unwrap();
    sqlx::query("UPDATE tokens SET uses = 3 WHERE id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let v = view(&c, &id).await;
    assert_eq!(
        (
            v["status"].as_str(),
            v["uses"].as_i64(),
            v["max_uses"].as_i64()
        ),
        (Some("exhausted"), Some(3), Some(3))
    );
    assert_eq!(ids(&c, "owner=b&status=exhausted").await, set(&[&id]));
    assert_eq!(ids(&c, "owner=b&status=active").await, set(&[&other]));
    assert_eq!(ids(&c, "owner=b").await, set(&[&other]));
    // Revoked wins over exhausted.
    c.revoke(&id).await;
    assert!(ids(&c, "owner=b&status=exhausted").await.is_empty());
    assert_eq!(ids(&c, "owner=b&status=revoked").await, set(&[&id]));
}

async fn expiring_within_lists_active_tokens_expiring_soon(c: Ctx) {
    let [active, soon, revoked, _] = fixture(&c).await;
    assert_eq!(ids(&c, "owner=b&expiring_within=2d").await, set(&[&soon]));
    assert_eq!(
        ids(&c, "owner=b&expiring_within=14d").await,
        set(&[&active, &soon])
    );
    assert!(ids(&c, "owner=b&expiring_within=1h").await.is_empty());
    // A window only: `status=` decides which statuses show (SPEC's
    // `--expiring-within 14d --status revoked`).
    let revoked = &revoked;
    assert_eq!(
        ids(&c, "owner=b&expiring_within=2d&status=revoked").await,
        set(&[revoked])
    );
    assert_eq!(
        ids(&c, "owner=b&expiring_within=14d&status=revoked,active").await,
        set(&[&active, &soon, revoked])
    );
    assert_eq!(
        ids(&c, "owner=b&expiring_within=14d&include_revoked=true").await,
        set(&[&active, &soon, revoked])
    );
    // Already expired is outside the window.
    assert!(ids(&c, "owner=b&expiring_within=2d&status=expired")
        .await
        .is_empty());
    let (s, v) = c
        .get(&format!("{TOKENS}?expiring_within=0s"), &c.owner)
        .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "expiring_within"),
        "{v}"
    );
    for bad in ["soon", "-1d", "2030-01-01T00:00:00Z"] {
        let (s, v) = c
            .get(&format!("{TOKENS}?expiring_within={bad}"), &c.owner)
            .await;
        assert_eq!(
            (s, field(&v)),
            (StatusCode::BAD_REQUEST, "expiring_within"),
            "{bad}: {v}"
        );
    }
}

async fn parent_lists_direct_children(c: Ctx) {
    c.bot("b", &["bots:list:*"]).await;
    let (root_id, root) = c.issue("b").await;
    let mut kids = Vec::new();
    for _ in 0..2 {
        let (s, v) = c.post("/v1/tokens/attenuate", &root, json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        kids.push((
            v["id"].as_str().unwrap().to_string(),
            v["token"].as_str().unwrap().to_string(),
        ));
    }
    let (s, v) = c.post("/v1/tokens/attenuate", &kids[0].1, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let grandkid = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&c, &format!("parent={root_id}")).await,
        set(&[&kids[0].0, &kids[1].0])
    );
    assert_eq!(
        ids(&c, &format!("parent={}", kids[0].0)).await,
        set(&[&grandkid])
    );
    let (s, v) = c.get(&format!("{TOKENS}?parent=nope"), &c.owner).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "parent"), "{v}");
}

async fn filtered_pages_walk_every_token_once(c: Ctx) {
    c.bot("b", &["bots:list:*"]).await;
    let mut want = BTreeSet::new();
    for i in 0..7 {
        let (id, _) = c.issue_with(json!({"owner": "b", "expiry": "1d"})).await;
        if i % 2 == 0 {
            c.revoke(&id).await;
            want.insert(id);
        } else {
            c.issue_with(json!({"owner": "b", "expiry": "1h"})).await;
        }
    }
    c.advance(7200);
    let mut got = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = format!("{TOKENS}?limit=2&status=revoked&status=active&owner=b");
        if let Some(cur) = &cursor {
            q.push_str(&format!("&cursor={cur}"));
        }
        let (s, v) = c.get(&q, &c.owner).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(count(&v) <= 2);
        for id in column(&v, "id") {
            assert!(got.insert(id), "a token listed twice");
        }
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    // Revoked ones plus the three 1d tokens still active.
    assert_eq!(got.len(), want.len() + 3);
    assert!(want.is_subset(&got));
    assert!(pages >= 4);
}
