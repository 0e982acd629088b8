//! `GET /v1/orgs/{org}/audit`: every mutation, nothing else, never a secret.

use crate::{both, snapshot, Ctx, OWNER};
use axum::http::StatusCode;
use serde_json::{json, Value};

both!(
    failed_requests_leave_no_entry,
    an_entry_names_the_actor_and_the_target,
    the_log_holds_no_jwt,
    a_bot_create_and_delete_are_logged,
    the_log_needs_audit_rights,
    the_chain_verifies_and_links_each_entry,
    the_log_pages_in_chain_order,
    a_changed_entry_is_found,
    a_removed_entry_is_found,
    a_removed_tail_is_found,
    a_cut_tail_with_its_head_set_back_is_found_by_a_kept_head,
    entries_say_what_their_hash_covers,
    an_entry_written_around_the_server_is_found,
    concurrent_writers_never_fork_the_chain,
    verification_needs_audit_rights
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

async fn verify(c: &Ctx) -> Value {
    let (s, v) = c.get("/v1/orgs/default/audit/verify", &c.owner).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn sql(c: &Ctx, statement: &str) {
    sqlx::query(statement)
        .execute(&c.state.store.pool)
        .await
        .unwrap();
}

async fn the_chain_verifies_and_links_each_entry(c: Ctx) {
    history(&c).await;
    let v = verify(&c).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(4)),
        "{v}"
    );
    let items = audit(&c).await["items"].as_array().unwrap().clone();
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let hashes: Vec<&str> = items.iter().map(|e| e["hash"].as_str().unwrap()).collect();
    assert!(hashes.iter().all(|h| h.len() == 64), "{hashes:?}");
    assert_eq!(
        v["head"].as_str(),
        Some(hashes[3]),
        "the head is the last entry's hash"
    );
    let mut unique = hashes.clone();
    unique.dedup();
    assert_eq!(unique.len(), 4);
}

async fn the_log_pages_in_chain_order(c: Ctx) {
    history(&c).await;
    let mut seqs = Vec::new();
    let mut path = "/v1/orgs/default/audit?limit=3".to_string();
    loop {
        let (s, v) = c.get(&path, &c.owner).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        seqs.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match v["next_cursor"].as_str() {
            Some(next) => path = format!("/v1/orgs/default/audit?limit=3&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seqs, [1, 2, 3, 4]);
}

async fn a_changed_entry_is_found(c: Ctx) {
    let id = history(&c).await;
    // Someone with the database rewrites who revoked the token.
    sql(&c, &format!(
        "UPDATE audit SET actor_name = 'nobody' WHERE action = 'token.revoke' AND target_id = '{id}'"
    ))
    .await;
    let v = verify(&c).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["entries"], 3, "{v}");
    assert_eq!(v["seq"], 4, "{v}");
    assert_eq!(v["entry"]["action"], "token.revoke", "{v}");
    assert_eq!(v["entry"]["actor"], "nobody", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("does not match"),
        "{v}"
    );
}

async fn a_removed_entry_is_found(c: Ctx) {
    history(&c).await;
    sql(&c, "DELETE FROM audit WHERE action = 'bot.create'").await;
    let v = verify(&c).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64(), v["seq"].as_i64()),
        (Some(false), Some(1), Some(2)),
        "{v}"
    );
    assert!(
        v["reason"].as_str().unwrap().contains("entry 2 is missing"),
        "{v}"
    );
}

async fn a_removed_tail_is_found(c: Ctx) {
    history(&c).await;
    sql(&c, "DELETE FROM audit WHERE action = 'token.revoke'").await;
    let v = verify(&c).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(false), Some(3)),
        "{v}"
    );
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("entry 4 was written"),
        "{v}"
    );
}

/// Deleting the newest entries and setting the head row back to an older
/// hash verifies `ok` on its own (docs/audit.md says so); given the head of
/// an earlier verification, kept elsewhere, the answer names what is gone.
async fn a_cut_tail_with_its_head_set_back_is_found_by_a_kept_head(c: Ctx) {
    history(&c).await;
    let kept = verify(&c).await;
    let (head, n) = (
        kept["head"].as_str().unwrap(),
        kept["entries"].as_u64().unwrap(),
    );
    assert_eq!(n, 4);
    let with = |q: String| {
        let c = &c;
        async move {
            let (s, v) = c
                .get(&format!("/v1/orgs/default/audit/verify?{q}"), &c.owner)
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    // Intact: the chain passes through the kept head, now and after more writes.
    let v = with(format!("head={head}&entries={n}")).await;
    assert_eq!(v["ok"], true, "{v}");
    c.bot("later", &[]).await;
    assert_eq!(with(format!("head={head}")).await["ok"], true);

    // The tail cut off (the kept head's entry and the one after), the head row set back.
    let third = audit(&c).await["items"][2]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    sql(&c, "DELETE FROM audit WHERE seq > 3").await;
    sql(
        &c,
        &format!("UPDATE audit_heads SET seq = 3, hash = '{third}'"),
    )
    .await;
    let v = verify(&c).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(3)),
        "{v}"
    );
    let v = with(format!("head={head}&entries={n}")).await;
    assert_eq!(
        (v["ok"].as_bool(), v["seq"].as_i64()),
        (Some(false), Some(4)),
        "{v}"
    );
    assert!(
        v["reason"].as_str().unwrap().contains("entry 4 is gone"),
        "{v}"
    );
    let v = with(format!("head={head}")).await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("not in the chain of 3 entries"),
        "{v}"
    );

    // The count alone finds the cut too.
    let v = with(format!("entries={n}")).await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("the chain has 3 entries, but 4 were seen before: entry 4 is gone"),
        "{v}"
    );
    assert_eq!(with("entries=3".into()).await["ok"], true);
    // A kept head that is no hash: 400 naming it.
    let (s, v) = c
        .get("/v1/orgs/default/audit/verify?head=5f0c", &c.owner)
        .await;
    assert_eq!(
        (s, crate::field(&v)),
        (StatusCode::BAD_REQUEST, "head"),
        "{v}"
    );
}

/// Each entry carries what its hash covers beyond the list's own fields: the
/// org's id and the chain version (2: RFC 8785).
async fn entries_say_what_their_hash_covers(c: Ctx) {
    history(&c).await;
    let (_, org) = c.get("/v1/orgs/default", &c.owner).await;
    for e in audit(&c).await["items"].as_array().unwrap() {
        assert_eq!(e["chain_version"], 2, "{e}");
        assert_eq!(e["org_id"], org["id"], "{e}");
    }
}

async fn an_entry_written_around_the_server_is_found(c: Ctx) {
    history(&c).await;
    sql(&c, "INSERT INTO audit (id, org_id, actor_name, action, target_type, details, created_at) \
             SELECT '00000000-0000-7000-8000-000000000001', id, 'ghost', 'bot.create', 'bot', '{}', 0 \
             FROM orgs WHERE name = 'default'").await;
    let v = verify(&c).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(false), Some(4)),
        "{v}"
    );
    assert!(
        v["reason"].as_str().unwrap().contains("outside the chain"),
        "{v}"
    );
}

/// Many writers at once (PostgreSQL runs them on several connections, as
/// replicas would): every entry gets its own seq and the chain still verifies.
async fn concurrent_writers_never_fork_the_chain(c: Ctx) {
    let writes = (0..24).map(|i| {
        let c = &c;
        async move {
            let (s, v) = c
                .create(
                    "bots",
                    json!({"username": format!("bot-{i}"), "permissions": ["x:y:z"]}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
    });
    // Verifications while the writes go on: each sees an intact chain up to
    // the head it read, never a "broken" one.
    let checks = (0..6).map(|_| {
        let c = &c;
        async move {
            let v = verify(c).await;
            assert_eq!(v["ok"], true, "{v}");
        }
    });
    futures::future::join(
        futures::future::join_all(writes),
        futures::future::join_all(checks),
    )
    .await;
    let v = verify(&c).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(25)),
        "{v}"
    );
}

async fn verification_needs_audit_rights(c: Ctx) {
    let t = c.bot_token("reader", &["bots:list:*"]).await;
    let (s, v) = c.get("/v1/orgs/default/audit/verify", &t).await;
    assert_eq!(
        (s, crate::code(&v)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{v}"
    );
}
