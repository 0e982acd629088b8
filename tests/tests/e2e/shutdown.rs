//! A clean shutdown loses nothing (issue #18): SIGTERM with last uses and use
//! counts queued in memory, leak reports answered but maybe not processed,
//! and a webhook delivery in flight (its receiver holds the request) — after
//! the process exits, within `--shutdown-timeout`, every one of them is in
//! the database, as a restarted server on the same data dir shows.

use sigil_e2e::receiver::Receiver;
use sigil_e2e::{rt, ServerOptions, TestServer};
use sigil_proto::api::{CreateBot, CreateWebhook, IssueToken, LeakReport, ListQuery};
use sigil_proto::client::Client;
use std::time::Duration;

/// How long the receiver holds each delivery before answering 200.
const HOLD: Duration = Duration::from_secs(3);
/// `--shutdown-timeout`.
const BOUND: Duration = Duration::from_secs(10);
/// Uses of the counted token before the signal: the first is written at
/// once (its first authentication reads the database), the rest wait in
/// memory for a minute (or the shutdown).
const USES: i64 = 7;

#[test]
fn sigterm_records_last_uses_leak_reports_and_deliveries_in_flight() {
    let rt = rt();
    let mut srv = TestServer::start_with(ServerOptions {
        args: vec!["--shutdown-timeout".into(), "10s".into()],
        ..Default::default()
    });
    let owner = srv.client();
    let receiver = Receiver::start_holding(200, HOLD);
    let (used, leaked, hook) = rt.block_on(async {
        owner
            .create_bot(
                "default",
                &CreateBot {
                    username: "stopper".into(),
                    permissions: vec!["machines:get:*".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let hook = owner
            .create_webhook(
                "default",
                &CreateWebhook {
                    url: receiver.url.clone(),
                    events: Some(vec!["token.issued".into()]),
                    description: None,
                    secret: None,
                },
            )
            .await
            .unwrap();
        let issue = |label: &str| IssueToken {
            owner: "stopper".into(),
            label: Some(label.into()),
            ..Default::default()
        };
        let used = owner
            .issue_token("default", &issue("used"), None)
            .await
            .unwrap();
        let leaked = owner
            .issue_token("default", &issue("leaked"), None)
            .await
            .unwrap();
        let as_used = Client::new(&srv.endpoint, Some(used.token.clone())).unwrap();
        for _ in 0..USES {
            as_used.whoami().await.unwrap();
        }
        (used, leaked, hook)
    });
    // A delivery of the first token.issued event is in flight: the receiver
    // has its body and holds the answer for HOLD.
    receiver.wait_for("a delivery in flight", |r| {
        r.header("sigil-event") == Some("token.issued")
    });
    rt.block_on(async {
        let anonymous = Client::new(&srv.endpoint, None).unwrap();
        let receipt = anonymous
            .report_leak(&LeakReport {
                tokens: vec![leaked.token.clone()],
                source: Some("https://example.com/paste".into()),
            })
            .await
            .unwrap();
        assert_eq!(receipt.received, 1);
    });
    let took = srv
        .terminate_within(BOUND + Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no exit after SIGTERM; log:\n{}", srv.logs()));
    assert!(
        took < BOUND,
        "exited after {took:?}, past --shutdown-timeout {BOUND:?}"
    );
    let log = srv.logs();
    assert!(log.contains("shut down"), "not a clean shutdown:\n{log}");
    assert!(
        !log.contains("exiting anyway"),
        "something was cut off:\n{log}"
    );

    // Restarted on the same data dir: what the first process recorded.
    let owner_token = srv.owner_token.clone();
    let dir = srv.stop();
    let again = TestServer::start_with(ServerOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    let owner = again.client_with(&owner_token);
    rt.block_on(async {
        let t = owner.get_token("default", used.metadata.id).await.unwrap();
        assert_eq!(t.uses, USES, "every use counted");
        assert!(t.last_used_at.is_some());
        let t = owner
            .get_token("default", leaked.metadata.id)
            .await
            .unwrap();
        assert_eq!(t.status, "revoked", "the reported token is revoked");
        assert_eq!(t.revoke_reason.as_deref(), Some("leaked"));
        // The attempt in flight at the signal was recorded, delivered.
        let id = hook.webhook.id;
        let attempts = owner
            .list_deliveries("default", id, &ListQuery::default())
            .await
            .unwrap()
            .items;
        assert!(
            attempts.iter().any(|d| d.result == "delivered"),
            "no delivered attempt recorded: {attempts:?}"
        );
    });
    drop(again);
    drop(dir);
}
