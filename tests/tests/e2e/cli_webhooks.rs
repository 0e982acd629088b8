//! The real `sigil` CLI against a real server for SPEC §6's webhooks:
//! `sigil webhooks create|list|view|update|delete|deliveries|test` and
//! `sigil orgs update --expiry-warning`, with a receiver in this process
//! (a tiny HTTP server on 127.0.0.1:0).
//!
//! What a user would notice: the signing secret is printed once, by create,
//! and never again (not by list, view, update, deliveries, test, nor on any
//! stderr); a test send reaches the receiver signed (Stripe-style and
//! Standard Webhooks, checked with its reference library) and shows in the delivery
//! log; a receiver that is down makes `test` exit 1; bad input is refused
//! before any call (exit 2) in the server's words; delete asks first. The
//! lifecycle runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigil_e2e::cli::{str_of, Sigil};
use sigil_e2e::receiver::{signed_with, standard_webhooks_verify, Receiver};
use sigil_e2e::{both, TestServer};
use std::net::TcpListener;

both!(cli_webhooks_secret_once_test_deliveries_update_delete);

fn cli_webhooks_secret_once_test_deliveries_update_delete(srv: &TestServer) {
    let s = Sigil::new(srv);
    let rx = Receiver::start(200);

    // Nothing yet: a note, not an empty table.
    let out = s.succeeds(&["webhooks", "list"]);
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(out.stderr.contains("No webhooks"), "{out:?}");

    // create: the secret alone on stdout, once, with a warning on stderr.
    let out = s.succeeds(&[
        "webhooks",
        "create",
        &rx.url,
        "--event",
        "token.issued,token.revoked",
        "--description",
        "ci hook",
    ]);
    let secret = out.stdout.trim().to_string();
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    assert!(secret.len() >= 16, "{out:?}");
    assert!(
        out.stderr.contains("shown only this once") && out.stderr.contains(&rx.url),
        "{out:?}"
    );
    s.remember(&secret);

    // list and view never show it.
    let out = s.succeeds(&["webhooks", "list"]);
    let header = out.stdout.lines().next().unwrap_or_default();
    for col in ["ID", "URL", "EVENTS", "DESCRIPTION"] {
        assert!(header.contains(col), "{out:?}");
    }
    assert!(
        out.stdout.contains(&rx.url)
            && out.stdout.contains("token.issued token.revoked")
            && out.stdout.contains("ci hook"),
        "{out:?}"
    );
    let listed = s.json(&["webhooks", "list"]);
    let hooks = listed.as_array().unwrap();
    assert_eq!(hooks.len(), 1, "{listed}");
    assert!(hooks[0].get("secret").is_none(), "{listed}");
    let id = str_of(&hooks[0]["id"]);
    let prefix = &id[..8];
    let out = s.succeeds(&["webhooks", "view", prefix]);
    assert!(
        out.stdout.contains(&id) && out.stdout.contains(&rx.url),
        "{out:?}"
    );
    let viewed = s.json(&["webhooks", "view", &id]);
    assert_eq!(viewed["url"], Value::String(rx.url.clone()), "{viewed}");
    assert!(viewed.get("secret").is_none(), "{viewed}");

    // test: the receiver gets a signed webhook.test event, the CLI says so.
    let out = s.succeeds(&["webhooks", "test", prefix]);
    assert!(
        out.stdout.contains("Delivered") && out.stdout.contains("200"),
        "{out:?}"
    );
    let got = rx.wait_for("the test event", |r| {
        r.header("sigil-event") == Some("webhook.test")
    });
    assert!(
        signed_with(&got, &secret),
        "signed with the secret create printed: {got:?}"
    );
    assert!(!signed_with(&got, "another-secret-0123456789"));
    // The same delivery verifies with the Standard Webhooks reference library,
    // the generated secret given to it as printed; another secret does not.
    standard_webhooks_verify(&got, &secret).unwrap();
    assert!(standard_webhooks_verify(&got, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
    assert!(got.header("sigil-delivery").is_some(), "{got:?}");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["type"], "webhook.test", "{body}");
    assert!(!got.body.contains(&secret) && !got.body.contains("eyJ"));

    // deliveries: the attempt, as a table and as JSON.
    let out = s.succeeds(&["webhooks", "deliveries", &id]);
    let header = out.stdout.lines().next().unwrap_or_default();
    for col in [
        "WHEN", "EVENT", "ATTEMPT", "RESULT", "STATUS", "DURATION", "ERROR",
    ] {
        assert!(header.contains(col), "{out:?}");
    }
    assert!(
        out.stdout
            .lines()
            .skip(1)
            .any(|l| l.contains("webhook.test") && l.contains("delivered") && l.contains("200")),
        "{out:?}"
    );
    let log = s.json(&["webhooks", "deliveries", prefix]);
    let attempts = log.as_array().unwrap();
    assert!(
        attempts.iter().any(|d| d["event_type"] == "webhook.test"
            && d["result"] == "delivered"
            && d["attempt"] == 1
            && d["status_code"] == 200),
        "{log}"
    );

    // update: the events list is replaced, the secret stays unseen.
    let out = s.succeeds(&["webhooks", "update", prefix, "--event", "token.expiring"]);
    assert!(out.stdout.contains("token.expiring"), "{out:?}");
    let viewed = s.json(&["webhooks", "view", &id]);
    assert_eq!(viewed["events"], serde_json::json!(["token.expiring"]));
    assert_eq!(viewed["description"], "ci hook", "{viewed}");
    let e = s.fails(2, &["webhooks", "update", prefix]);
    assert!(e.contains("nothing to change"), "{e}");

    // A receiver that is down: test exits 1 and says it was not delivered.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let created = s.json(&["webhooks", "create", &dead_url]);
    let dead_secret = str_of(&created["secret"]);
    s.remember(&dead_secret);
    assert_eq!(created["events"], serde_json::json!(["*"]), "{created}");
    let dead_id = str_of(&created["id"]);
    let e = s.fails(1, &["webhooks", "test", &dead_id]);
    assert!(e.contains("not delivered") && e.contains(&dead_url), "{e}");
    let log = s.json(&["webhooks", "deliveries", &dead_id]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] != "delivered" && d["error"].is_string()),
        "{log}"
    );

    // Two webhooks now: a prefix both share is ambiguous (exit 2, both listed).
    let common: String = id
        .chars()
        .zip(dead_id.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    if common.len() >= 4 {
        let e = s.fails(2, &["webhooks", "view", &common[..4]]);
        assert!(e.contains(&id) && e.contains(&dead_id), "{e}");
    }

    // delete: asks first (no terminal: refuses without --yes), then deletes.
    // Ids are UUIDv7 (a timestamp first): the prefix must outgrow what they share.
    let prefix = &id[..(common.len() + 1).max(8)];
    let e = s.fails(2, &["webhooks", "delete", prefix]);
    assert!(e.contains("--yes"), "{e}");
    let out = s.succeeds(&["webhooks", "delete", prefix, "--yes"]);
    assert!(out.stdout.contains("Deleted webhook"), "{out:?}");
    let e = s.fails(1, &["webhooks", "view", &id]);
    assert!(e.contains("not_found") || e.contains("HTTP 404"), "{e}");
    let left = s.json(&["webhooks", "list"]);
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    s.succeeds(&["webhooks", "rm", &dead_id, "-y"]);
}

#[test]
fn cli_webhooks_input_is_checked_before_any_call() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    // Refused locally with the server's own words (exit 2, a usage error).
    let e = s.fails(2, &["webhooks", "create", "ftp://hooks.example.com/x"]);
    assert!(e.contains("http:// or https://"), "{e}");
    let e = s.fails(
        2,
        &["webhooks", "create", "https://u:p@hooks.example.com/x"],
    );
    assert!(e.contains("credentials"), "{e}");
    let e = s.fails(
        2,
        &[
            "webhooks",
            "create",
            "https://hooks.example.com/x",
            "--event",
            "token.created",
        ],
    );
    assert!(
        e.contains("token.created") && e.contains("token.expiring"),
        "names the bad type and the good ones: {e}"
    );
    let out = s.exec(
        s.cmd(),
        &[
            "webhooks",
            "create",
            "https://hooks.example.com/x",
            "--secret-stdin",
        ],
        Some("short\n"),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("16 to 256"), "{out:?}");
    assert!(
        !out.stderr.contains("short"),
        "never echoes the secret: {out:?}"
    );
    let e = s.fails(2, &["webhooks", "view", "not-an-id"]);
    assert!(e.contains("not a webhook id"), "{e}");
    assert!(
        s.json(&["webhooks", "list"]).as_array().unwrap().is_empty(),
        "nothing was created"
    );

    // A secret of one's own, from stdin: answered once, as given, and the
    // deliveries are signed with it.
    let rx = Receiver::start(200);
    let mine = "a-secret-of-my-own-0123456789";
    s.remember(mine);
    let out = s.exec(
        s.cmd(),
        &[
            "webhooks",
            "create",
            &rx.url,
            "--secret-stdin",
            "-o",
            "json",
        ],
        Some(&format!("{mine}\n")),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let created: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(created["secret"], mine, "{created}");
    assert_eq!(created["url"], rx.url.as_str(), "{created}");
    s.succeeds(&["webhooks", "test", &str_of(&created["id"])]);
    let got = rx.wait_for("the test event", |r| {
        r.header("sigil-event") == Some("webhook.test")
    });
    assert!(signed_with(&got, mine), "{got:?}");
    // A secret of one's own that is no base64: its bytes are the key.
    standard_webhooks_verify(&got, mine).unwrap();

    // A new secret through `update --secret-stdin`: signs from then on, and
    // is neither printed nor echoed.
    let next = "the-next-secret-0123456789";
    s.remember(next);
    let id = str_of(&created["id"]);
    let out = s.exec(
        s.cmd(),
        &["webhooks", "update", &id, "--secret-stdin"],
        Some(&format!("{next}\n")),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stdout.contains(next) && !out.stderr.contains(next),
        "{out:?}"
    );
    s.succeeds(&["webhooks", "test", &id]);
    let got = rx.wait_for("the second test event", |r| {
        r.header("sigil-event") == Some("webhook.test") && signed_with(r, next)
    });
    assert!(!signed_with(&got, mine), "{got:?}");

    // Every -h shows examples of its own command.
    for cmd in [
        "create",
        "list",
        "view",
        "update",
        "delete",
        "deliveries",
        "test",
    ] {
        let out = s.succeeds(&["webhooks", cmd, "-h"]);
        let examples = out.stdout.split_once("Examples:").map(|(_, e)| e);
        assert!(
            examples.is_some_and(|e| e.contains(&format!("sigil webhooks {cmd}"))),
            "{out:?}"
        );
    }

    // The org's expiry warning window.
    let org = s.json(&["orgs", "update", "default", "--expiry-warning", "7d"]);
    assert_eq!(org["expiry_warning"], 7 * 86_400, "{org}");
    let out = s.succeeds(&["orgs", "update", "default", "--expiry-warning", "30d"]);
    assert!(out.stdout.contains("30d"), "{out:?}");
    let e = s.fails(
        2,
        &["orgs", "update", "default", "--expiry-warning", "soon"],
    );
    assert!(e.contains("--expiry-warning"), "{e}");
}
