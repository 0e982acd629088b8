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
    an_expired_key_mints_anew
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
