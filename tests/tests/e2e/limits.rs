//! Usage limits are exact across replicas: two real `sigil server` processes
//! on one fresh PostgreSQL database, a token with `max_uses = N`, concurrent
//! requests split over both (REST and gRPC `Verify`, each replica's memory
//! view warm) — exactly N succeed, the rest are refused `exhausted`, and the
//! token's view shows `uses = N` and `status = exhausted`.

use sigil_e2e::grpc::{verifier, verify};
use sigil_e2e::{create_bot, replicas, TestServer};
use sigil_proto::api::{IssueToken, IssuedToken};
use sigil_proto::SecretString;

use sigil_e2e::rt;

/// A token of a new bot `name` (`bots:list:*`) with `max_uses`.
async fn limited(s: &TestServer, name: &str, max_uses: i64) -> IssuedToken {
    let owner = s.client();
    create_bot(&owner, name, &["bots:list:*"]).await;
    let t = owner
        .issue_token(
            "default",
            &IssueToken {
                owner: name.into(),
                expiry: Some("1d".into()),
                max_uses: Some(max_uses),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(t.metadata.max_uses, Some(max_uses));
    t
}

/// `GET /v1/whoami` on `endpoint` with `token`: the status and the body.
async fn whoami(
    http: &reqwest::Client,
    endpoint: &str,
    token: &SecretString,
) -> (u16, serde_json::Value) {
    let r = http
        .get(format!("{endpoint}/v1/whoami"))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[test]
fn max_uses_are_exact_across_two_replicas_over_rest() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        const N: i64 = 10;
        let t = limited(&a, "burst", N).await;
        let http = reqwest::Client::new();
        // One use on each replica first: both now answer it from memory,
        // which must still take every use in the database.
        for s in [&a, &b] {
            let (status, v) = whoami(&http, &s.endpoint, &t.token).await;
            assert_eq!(status, 200, "{v}");
        }
        let calls: Vec<_> = (0..40)
            .map(|i| {
                let http = http.clone();
                let ep = if i % 2 == 0 { &a } else { &b }.endpoint.clone();
                let token = t.token.clone();
                tokio::spawn(async move { whoami(&http, &ep, &token).await })
            })
            .collect();
        let mut answers = Vec::new();
        for c in calls {
            answers.push(c.await.unwrap());
        }
        let ok = answers.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(ok as i64, N - 2, "exactly the uses left succeed");
        for (s, v) in answers.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*s, 401, "{v}");
            let msg = v["error"]["message"].as_str().unwrap_or_default();
            assert!(msg.contains("exhausted"), "{v}");
        }
        let exhausted_whoami = answers
            .iter()
            .filter(|(s, v)| *s == 200 && v["status"] == "exhausted")
            .count();
        assert_eq!(exhausted_whoami, 1, "one answer took the last use");
        for s in [&a, &b] {
            // B did not bootstrap: A's owner token, on each replica.
            let view = s
                .client_with(&a.owner_token)
                .get_token("default", t.metadata.id)
                .await
                .unwrap();
            assert_eq!(view.uses, N, "no use beyond max_uses, none lost");
            assert_eq!(view.status, "exhausted");
        }
        assert!(!a.logs().contains(t.token.expose()) && !b.logs().contains(t.token.expose()));
    });
}

#[test]
fn max_uses_are_exact_across_two_replicas_over_grpc_verify() {
    let (_db, a, b) = replicas(true);
    rt().block_on(async {
        const N: i64 = 6;
        let t = limited(&a, "verified", N).await;
        let mut clients = Vec::new();
        for s in [&a, &b] {
            clients.push(verifier(s).await);
        }
        let calls: Vec<_> = (0..30)
            .map(|i| {
                let mut c = clients[i % 2].clone();
                let token = t.token.clone();
                tokio::spawn(async move { verify(&mut c, &token, None).await })
            })
            .collect();
        let mut answers = Vec::new();
        for c in calls {
            answers.push(c.await.unwrap());
        }
        let valid = answers.iter().filter(|r| r.valid).count();
        assert_eq!(valid as i64, N, "{answers:?}");
        assert!(answers
            .iter()
            .filter(|r| !r.valid)
            .all(|r| r.reason == "exhausted"));
        let view = b
            .client_with(&a.owner_token)
            .get_token("default", t.metadata.id)
            .await
            .unwrap();
        assert_eq!((view.uses, view.status.as_str()), (N, "exhausted"));
    });
}
