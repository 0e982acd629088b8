//! `sigil_webhook` under real `terraform` (1.0.3, `SIGIL_TERRAFORM`) against a
//! real `sigil server`, the provider installed from a local plugin directory
//! as in `terraform.rs`.
//!
//! What a user would notice: the secret lands in the state as a sensitive
//! value and never in plan or apply output; url/events/description change in
//! place and the secret stays; a webhook deleted outside Terraform is created
//! again; import works (without a secret); bad input fails the plan on its
//! attribute with the server's words.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_e2e::receiver::{signed_with, Receiver};
use sigil_e2e::terraform::Tf;
use sigil_e2e::{rt1 as rt, TestServer};
use sigil_proto::api::CreateWebhook;
use uuid::Uuid;

fn config(url: &str, events: Option<&str>, description: &str) -> String {
    let events = events
        .map(|e| format!("  events      = {e}\n"))
        .unwrap_or_default();
    format!(
        r#"
resource "sigil_webhook" "w" {{
  url         = "{url}"
{events}  description = "{description}"
}}

output "secret" {{
  value     = sigil_webhook.w.secret
  sensitive = true
}}
"#
    )
}

fn events_of(server: &TestServer, id: &str) -> Vec<String> {
    let id = Uuid::parse_str(id).unwrap();
    let mut e = rt()
        .block_on(server.client().get_webhook("default", id))
        .unwrap()
        .events;
    e.sort();
    e
}

#[test]
fn terraform_webhook_secret_in_place_updates_drift_and_destroy() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    let rx = Receiver::start(200);
    let url = rx.url.as_str();
    tf.config(&config(url, Some(r#"["token.issued"]"#), "pager"));

    // The plan shows the secret as known after apply, never a value.
    let p = tf.plan();
    assert_eq!(p.code, 2, "{p:?}");
    assert!(
        p.stdout.contains("sigil_webhook.w will be created")
            && p.stdout.contains("secret")
            && p.stdout.contains("(sensitive value)"),
        "{p:?}"
    );
    let applied = tf.apply();
    let values = tf.resource("sigil_webhook.w").unwrap();
    let secret = values["secret"].as_str().unwrap_or_default().to_string();
    let id = values["id"].as_str().unwrap().to_string();
    assert!(secret.len() >= 16, "the secret is in the state: {values}");
    // Sensitive: `state show` hides it too (Terraform 1.0's `show -json`
    // marks only values made sensitive by the configuration).
    let shown = tf.ok(&["state", "show", "sigil_webhook.w"]).stdout;
    assert!(
        shown.contains("secret") && shown.contains("(sensitive value)") && !shown.contains(&secret),
        "{shown}"
    );
    assert!(
        !applied.stdout.contains(&secret) && !applied.stderr.contains(&secret),
        "never in apply output: {applied:?}"
    );
    let out = tf.ok(&["output", "-raw", "secret"]);
    assert_eq!(out.stdout.trim(), secret);
    // It is the webhook's real secret: a test delivery is signed with it.
    let uuid = Uuid::parse_str(&id).unwrap();
    rt().block_on(server.client().test_webhook("default", uuid))
        .unwrap();
    let got = rx.wait_for("the test event", |r| {
        r.header("sigil-event") == Some("webhook.test")
    });
    assert!(signed_with(&got, &secret), "{got:?}");
    assert_eq!(events_of(&server, &id), ["token.issued"]);
    let p = tf.plan();
    assert_eq!(p.code, 0, "settled after one apply: {p:?}");
    assert!(!p.stdout.contains(&secret), "{p:?}");

    // events and description change in place; the id and the secret stay.
    tf.config(&config(
        url,
        Some(r#"["token.revoked", "token.issued"]"#),
        "pager, v2",
    ));
    let p = tf.plan();
    assert_eq!(p.code, 2, "{p:?}");
    assert!(
        p.stdout
            .contains("sigil_webhook.w will be updated in-place")
            && !p.stdout.contains("must be replaced"),
        "{p:?}"
    );
    assert!(!p.stdout.contains(&secret), "{p:?}");
    let applied = tf.apply();
    assert!(!applied.stdout.contains(&secret), "{applied:?}");
    let values = tf.resource("sigil_webhook.w").unwrap();
    assert_eq!(values["id"], id.as_str());
    assert_eq!(
        values["secret"],
        secret.as_str(),
        "an update keeps the secret"
    );
    assert_eq!(events_of(&server, &id), ["token.issued", "token.revoked"]);
    assert_eq!(tf.plan().code, 0);

    // Omitting events means every type, with no perpetual diff.
    tf.config(&config("https://hooks.example.com/v2", None, "pager, v2"));
    assert_eq!(tf.plan().code, 2);
    tf.apply();
    assert_eq!(events_of(&server, &id), ["*"]);
    let p = tf.plan();
    assert_eq!(p.code, 0, "null events stay null: {p:?}");

    // Deleted outside Terraform: the next plan creates it again (new id, new secret).
    rt().block_on(
        server
            .client()
            .delete_webhook("default", Uuid::parse_str(&id).unwrap()),
    )
    .unwrap();
    tf.plan_says("sigil_webhook.w will be created");
    tf.apply();
    let values = tf.resource("sigil_webhook.w").unwrap();
    let new_id = values["id"].as_str().unwrap();
    assert_ne!(new_id, id);
    let new_secret = values["secret"].as_str().unwrap();
    assert!(new_secret.len() >= 16 && new_secret != secret, "{values}");
    assert_eq!(tf.plan().code, 0);

    // destroy deletes it.
    tf.ok(&["destroy", "-auto-approve", "-input=false"]);
    let left = rt()
        .block_on(server.client().list_all_webhooks("default"))
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn terraform_webhook_import_and_bad_input() {
    let server = TestServer::start();
    let made = rt()
        .block_on(server.client().create_webhook(
            "default",
            &CreateWebhook {
                url: "https://hooks.example.com/by-hand".into(),
                events: Some(vec!["token.leaked".into(), "key.rotated".into()]),
                description: Some("made by hand".into()),
                secret: None,
            },
        ))
        .unwrap();
    let id = made.webhook.id.to_string();
    let tf = Tf::new(&server);
    tf.config(
        r#"
resource "sigil_webhook" "imp" {
  url         = "https://hooks.example.com/by-hand"
  events      = ["key.rotated", "token.leaked"]
  description = "made by hand"
}
"#,
    );
    let bad = tf.run(&["import", "-input=false", "sigil_webhook.imp", "not-an-id"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("a webhook id (a UUID)"), "{bad:?}");
    let imported = tf.ok(&[
        "import",
        "-input=false",
        "sigil_webhook.imp",
        &format!("default/{id}"),
    ]);
    assert!(
        !imported.stdout.contains(made.secret.expose()),
        "{imported:?}"
    );
    let values = tf.resource("sigil_webhook.imp").unwrap();
    assert_eq!(values["id"], id.as_str());
    assert!(
        values["secret"].is_null(),
        "an imported webhook has no secret: {values}"
    );
    let p = tf.plan();
    assert_eq!(p.code, 0, "the import matches the configuration: {p:?}");

    // Import by id alone (the provider's org).
    tf.ok(&["state", "rm", "sigil_webhook.imp"]);
    tf.ok(&["import", "-input=false", "sigil_webhook.imp", &id]);
    assert_eq!(tf.plan().code, 0);

    // Bad input fails the plan on its attribute, in the server's words.
    tf.config(
        r#"
resource "sigil_webhook" "url" {
  url = "ftp://hooks.example.com/x"
}

resource "sigil_webhook" "events" {
  url    = "https://hooks.example.com/x"
  events = ["token.created"]
}
"#,
    );
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    for (summary, line, words) in [
        (
            "Invalid url",
            r#"url = "ftp://hooks.example.com/x""#,
            "http:// or https://",
        ),
        (
            "Invalid events",
            r#"events = ["token.created"]"#,
            "token.created",
        ),
    ] {
        let block = p.error_block(summary, 8);
        assert!(
            block.contains(line) && block.contains(words),
            "{summary}: {block}"
        );
    }
    let all = rt()
        .block_on(server.client().list_all_webhooks("default"))
        .unwrap();
    assert_eq!(all.len(), 1, "nothing was created: {all:?}");
}
