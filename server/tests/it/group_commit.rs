//! Issues committed together (`ops/tokens/group_commit.rs`): concurrent
//! requests share one transaction, and each keeps the answer it would get
//! alone — one refusal never fails the others, the same Idempotency-Key
//! mints once, every token has its audit entry.

use crate::{both, code, Ctx};
use axum::http::StatusCode;
use futures::future::join_all;
use serde_json::{json, Value};

both!(
    concurrent_same_key_mints_once,
    one_refusal_fails_no_other,
    an_expired_key_mints_anew,
    batches_of_both_kinds_never_deadlock
);

async fn keyed(c: &Ctx, by: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let mut req = c.request("POST", "/v1/orgs/default/tokens", Some(by), Some(body));
    req.headers_mut()
        .insert("idempotency-key", key.parse().unwrap());
    c.send(req).await
}

async fn live_tokens(c: &Ctx, owner: &str) -> usize {
    let (s, v) = c
        .get(
            &format!("/v1/orgs/default/tokens?owner={owner}&limit=500"),
            &c.owner,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().len()
}

async fn concurrent_same_key_mints_once(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let body = json!({"owner": "steve", "label": "once"});
    let answers = join_all((0..16).map(|_| keyed(&c, &c.owner, "k-1", body.clone()))).await;
    let first = &answers[0].1;
    for (s, v) in &answers {
        assert_eq!(*s, StatusCode::CREATED, "{v}");
        assert_eq!(v["id"], first["id"]);
        assert_eq!(v["token"], first["token"]);
    }
    assert_eq!(live_tokens(&c, "steve").await, 1);
}

async fn one_refusal_fails_no_other(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let (s, v) = keyed(&c, &c.owner, "taken", json!({"owner": "steve"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let calls = (0..12).map(|i| {
        let c = &c;
        async move {
            match i % 3 {
                0 => {
                    c.call(
                        "POST",
                        "/v1/orgs/default/tokens",
                        Some(&c.owner),
                        Some(json!({"owner": "steve"})),
                    )
                    .await
                }
                // Refused in the batch: the key holds another request's answer.
                1 => {
                    keyed(
                        c,
                        &c.owner,
                        "taken",
                        json!({"owner": "steve", "label": "x"}),
                    )
                    .await
                }
                // Refused in the batch: a lifetime beyond the maximum.
                _ => {
                    c.call(
                        "POST",
                        "/v1/orgs/default/tokens",
                        Some(&c.owner),
                        Some(json!({"owner": "steve", "expiry": "40000d"})),
                    )
                    .await
                }
            }
        }
    });
    let answers = join_all(calls).await;
    for (i, (s, v)) in answers.iter().enumerate() {
        match i % 3 {
            0 => assert_eq!(*s, StatusCode::CREATED, "{v}"),
            1 => assert_eq!(code(v), "idempotency_mismatch", "{v}"),
            _ => assert_eq!(code(v), "lifetime_exceeded", "{v}"),
        }
    }
    assert_eq!(live_tokens(&c, "steve").await, 1 + 4);
    // Every token minted has its audit entry, and no refused one has.
    let (s, v) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let issued = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "token.issue")
        .count();
    assert_eq!(issued, 1 + 4, "{v}");
}

async fn an_expired_key_mints_anew(c: Ctx) {
    // A bot token outlives the key's window (the owner's bootstrap token does not).
    c.bot("issuer", &["tokens:issue:*", "tokens:get:*"]).await;
    let by = c.issue("issuer").await.1;
    let body = json!({"owner": "issuer"});
    let (s, a) = keyed(&c, &by, "k", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (_, again) = keyed(&c, &by, "k", body.clone()).await;
    assert_eq!(again["id"], a["id"]);
    c.advance(25 * 3600);
    let (s, b) = keyed(&c, &by, "k", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_ne!(b["id"], a["id"]);
}

/// Batches that go all at once and batches that go job by job (a reused
/// Idempotency-Key sends a batch that way), both moving the signing key's
/// horizon, while derivations mint in units of work: every path takes the
/// key row before the audit chain head (the head last), so none waits on
/// another in the opposite order — on PostgreSQL a deadlock would fail a
/// request.
async fn batches_of_both_kinds_never_deadlock(c: Ctx) {
    c.bot("steve", &["*:*:*"]).await;
    let parent = c.issue("steve").await.1;
    let (s, v) = keyed(&c, &c.owner, "taken", json!({"owner": "steve"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut minted = 0;
    for round in 0..4 {
        let calls = (0..24).map(|i| {
            let c = &c;
            let parent = &parent;
            // Each later than the last: the key's horizon moves every batch.
            let expiry = format!("{}s", 7200 + round * 100 + i);
            async move {
                match i % 4 {
                    0 => {
                        keyed(
                            c,
                            &c.owner,
                            "taken",
                            json!({"owner": "steve", "label": "x"}),
                        )
                        .await
                    }
                    1 => {
                        c.post("/v1/tokens/attenuate", parent, json!({"expiry": "1h"}))
                            .await
                    }
                    _ => {
                        c.call(
                            "POST",
                            "/v1/orgs/default/tokens",
                            Some(&c.owner),
                            Some(json!({"owner": "steve", "expiry": expiry})),
                        )
                        .await
                    }
                }
            }
        });
        for (i, (s, v)) in join_all(calls).await.iter().enumerate() {
            if i % 4 == 0 {
                assert_eq!(code(v), "idempotency_mismatch", "{v}");
            } else {
                assert_eq!(*s, StatusCode::CREATED, "round {round}, call {i}: {v}");
                minted += 1;
            }
        }
    }
    // Every token minted has its audit entry.
    let (_, v) = c.get("/v1/orgs/default/audit?limit=500", &c.owner).await;
    let entries = v["items"].as_array().unwrap();
    let issued = entries
        .iter()
        .filter(|e| e["action"] == "token.issue" || e["action"] == "token.attenuate")
        .count();
    // The parent and the keyed token, then every one minted here.
    assert_eq!(issued, 2 + minted, "{v}");
}
