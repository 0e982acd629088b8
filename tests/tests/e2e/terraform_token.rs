//! `sigil_token` under real `terraform` (1.0.3, `SIGIL_TERRAFORM`) against a
//! real `sigil server`, installed as in `terraform.rs`: its lifecycle
//! (update in place, replace, drift, destroy), rotation decided at plan,
//! saved plans, keepers, grace periods, binding and usage limits, and tokens
//! no longer active.
//!
//! Each test asserts what a user would notice: the plan's words and exit
//! code, and whether a JWT is accepted by the server.

// Test helpers panic on purpose: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use sigil_e2e::terraform::{accepted, owner, terraform_bin, Tf};
use sigil_e2e::TestServer;
use sigil_proto::api::{CreateBot, CreateOrg, IssueToken, TokenFilter, UpdateToken};

use sigil_e2e::rt1 as rt;

#[test]
fn token_lifecycle_update_replace_drift_and_destroy() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    let config = |label: &str, expiry: &str| {
        format!(
            r#"
resource "sigil_bot" "ci" {{
  username    = "ci-bot"
  description = "CI"
  permissions = ["tokens:get,list:*", "machines:get,list:*"]
  identities  = {{ github = "ci-bot" }}
}}

resource "sigil_token" "ci" {{
  bot_id = sigil_bot.ci.id
  label  = "{label}"
  expiry = "{expiry}"
  # Listed in another order than the bot's permissions, and split: a set.
  claims = ["machines:list:*", "tokens:get,list:*", "machines:get:*"]
}}

output "jwt" {{
  value     = sigil_token.ci.token
  sensitive = true
}}

output "id" {{
  value = sigil_token.ci.id
}}
"#
        )
    };

    tf.config(&config("first", "100d"));
    tf.apply();
    let jwt1 = tf.output("jwt");
    let id1 = tf.output("id");
    assert!(accepted(&server, &jwt1), "the issued token works");

    // A second plan shows no changes (sets, computed values, spelling all stable).
    let p = tf.plan();
    assert_eq!(p.code, 0, "second plan must show no changes: {p:?}");
    assert!(p.stdout.contains("No changes"), "{p:?}");

    // Label: in place; same token, same JWT, still valid.
    tf.config(&config("second", "100d"));
    tf.plan_says("sigil_token.ci will be updated in-place");
    tf.apply();
    assert_eq!(tf.output("id"), id1);
    assert!(
        accepted(&server, &jwt1),
        "a label change keeps the JWT valid"
    );
    let t = rt()
        .block_on(owner(&server).get_token("default", id1.parse().unwrap()))
        .unwrap();
    assert_eq!(t.label.as_deref(), Some("second"));

    // Expiry: replacement; the old JWT is refused, the new one accepted.
    tf.config(&config("second", "90d"));
    let p = tf.plan();
    assert!(
        p.stdout.contains("sigil_token.ci must be replaced"),
        "{p:?}"
    );
    assert!(p.stdout.contains("forces replacement"), "{p:?}");
    tf.apply();
    let jwt2 = tf.output("jwt");
    let id2 = tf.output("id");
    assert_ne!(id1, id2);
    assert!(!accepted(&server, &jwt1), "the replaced token is revoked");
    assert!(accepted(&server, &jwt2), "the new token works");
    assert_eq!(tf.plan().code, 0);

    // Revoked out of band: the refresh finds it revoked, and the plan replaces
    // it, saying why.
    rt().block_on(owner(&server).revoke_token("default", id2.parse().unwrap(), Some("leak")))
        .unwrap();
    let p = tf.plan_says("sigil_token.ci must be replaced");
    assert!(
        p.all()
            .contains(&format!("Token \"second\" (id {id2}) is revoked (leak)")),
        "the plan says why: {p:?}"
    );

    // A refused token (401) fails the plan: nothing is planned, nothing leaves the state.
    let before = tf.state_list();
    let bad = tf.run_in(
        tf.path(),
        &["plan", "-input=false", "-detailed-exitcode"],
        &jwt1,
    );
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("unauthenticated"),
        "the error carries the server's code: {bad:?}"
    );
    assert!(!bad.stdout.contains("will be created"), "{bad:?}");
    assert!(
        !bad.all().contains(&jwt1),
        "the JWT never appears in output"
    );
    assert_eq!(tf.state_list(), before);

    // A token that may not read tokens (403 on refresh) fails the plan the same way.
    let c = owner(&server);
    rt().block_on(c.create_bot(
        "default",
        &CreateBot {
            username: "limited".into(),
            permissions: vec!["machines:get:*".into()],
            ..Default::default()
        },
    ))
    .unwrap();
    let limited = rt()
        .block_on(c.issue_token(
            "default",
            &IssueToken {
                owner: "limited".into(),
                expiry: Some("1h".into()),
                ..Default::default()
            },
            None,
        ))
        .unwrap();
    let denied = tf.run_in(
        tf.path(),
        &["plan", "-input=false", "-detailed-exitcode"],
        limited.token.expose(),
    );
    assert_eq!(denied.code, 1, "{denied:?}");
    assert!(denied.stderr.contains("forbidden"), "{denied:?}");
    assert!(!denied.stdout.contains("will be created"), "{denied:?}");
    assert_eq!(tf.state_list(), before);

    // A token of another org gets 404 for the whole `default` org: that is not
    // "deleted". The refresh fails, naming the org, and the state keeps everything.
    rt().block_on(c.create_org(&CreateOrg {
        name: "acme".into(),
        max_token_lifetime: None,
    }))
    .unwrap();
    rt().block_on(c.create_bot(
        "acme",
        &CreateBot {
            username: "outsider".into(),
            permissions: vec!["bots,tokens:get,list:*".into()],
            ..Default::default()
        },
    ))
    .unwrap();
    let outsider = rt()
        .block_on(c.issue_token(
            "acme",
            &IssueToken {
                owner: "outsider".into(),
                expiry: Some("1h".into()),
                ..Default::default()
            },
            None,
        ))
        .unwrap();
    let elsewhere = tf.run_in(
        tf.path(),
        &["plan", "-input=false", "-detailed-exitcode"],
        outsider.token.expose(),
    );
    assert_eq!(elsewhere.code, 1, "{elsewhere:?}");
    assert!(
        elsewhere.stderr.contains("Cannot tell whether")
            && elsewhere
                .stderr
                .contains(r#"org "default" is not reachable"#),
        "{elsewhere:?}"
    );
    assert!(
        !elsewhere.stdout.contains("will be created"),
        "{elsewhere:?}"
    );
    assert!(!elsewhere.all().contains(outsider.token.expose()));
    assert_eq!(tf.state_list(), before);

    // An unreachable server is an error too, never a re-creation.
    let down = Command::new(terraform_bin())
        .args(["plan", "-input=false", "-detailed-exitcode", "-no-color"])
        .current_dir(tf.path())
        .env("SIGIL_ENDPOINT", "http://127.0.0.1:9")
        .env("SIGIL_TOKEN", &tf.token)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot reach the Sigil server"));

    tf.apply();
    let jwt3 = tf.output("jwt");
    assert!(accepted(&server, &jwt3));

    // Destroy: no live token, no bot.
    tf.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(!accepted(&server, &jwt3));
    let c = owner(&server);
    assert!(rt()
        .block_on(c.get_bot("default", "ci-bot"))
        .unwrap_err()
        .is_not_found());
    let live = rt()
        .block_on(c.list_all_tokens("default", &TokenFilter::default()))
        .unwrap();
    assert!(
        live.iter().all(|t| t.owner != "ci-bot"),
        "no token of the bot is live"
    );
}

#[test]
fn rotation_is_planned_with_a_reason_and_grace_keeps_the_old_token() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    tf.config(
        r#"
resource "sigil_bot" "ci" {
  username    = "rotating"
  permissions = ["machines:get:*"]
}

resource "sigil_token" "ci" {
  bot_id        = sigil_bot.ci.id
  expiry        = "2h"
  rotate_before = "1h"
  grace_period  = "10m"
  lifecycle {
    create_before_destroy = true
  }
}

output "jwt" {
  value     = sigil_token.ci.token
  sensitive = true
}

output "id" {
  value = sigil_token.ci.id
}
"#,
    );
    tf.apply();
    assert_eq!(tf.plan().code, 0, "outside the window: no changes");
    let (jwt1, id1) = (tf.output("jwt"), tf.output("id"));

    // Someone shortens the token to 30 minutes: it is now inside rotate_before.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    let req = UpdateToken {
        expires_at: Some(
            soon.format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        ),
        ..Default::default()
    };
    rt().block_on(owner(&server).update_token("default", id1.parse().unwrap(), &req))
        .unwrap();

    let plan_file = tf.path().join("rotate.tfplan");
    let p = tf.run(&[
        "plan",
        "-input=false",
        "-detailed-exitcode",
        &format!("-out={}", plan_file.display()),
    ]);
    assert_eq!(p.code, 2, "{p:?}");
    assert!(p.stdout.contains("must be replaced"), "{p:?}");
    assert!(
        p.all().contains("Token rotation planned"),
        "the plan says why: {p:?}"
    );
    assert!(p.all().contains("rotate_before"), "{p:?}");

    tf.ok(&["apply", "-input=false", plan_file.to_str().unwrap()]);
    let (jwt2, id2) = (tf.output("jwt"), tf.output("id"));
    assert_ne!(id1, id2);
    assert!(accepted(&server, &jwt2));
    // grace_period: the old token still works, but only for about 10 more minutes.
    assert!(
        accepted(&server, &jwt1),
        "grace_period keeps the old token valid"
    );
    let old = rt()
        .block_on(owner(&server).get_token("default", id1.parse().unwrap()))
        .unwrap();
    assert!(old.expires_at <= time::OffsetDateTime::now_utc() + time::Duration::minutes(11));
    assert_eq!(tf.plan().code, 0, "the new token is outside the window");
}

/// Rotation is decided at plan time: a plan saved just before the token's
/// rotate_before window opens still applies as shown once it has opened, and
/// only a fresh plan replaces the token. The saved plan changes the label, so
/// Terraform asks the provider to plan the token again at apply: a provider
/// that re-decided the rotation there would fail the apply ("inconsistent
/// final plan"); a saved plan with no changes would not even reach it.
#[test]
fn a_saved_plan_applies_as_shown_after_the_rotation_window_opened() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    let config = |label: &str| {
        format!(
            r#"
resource "sigil_bot" "b" {{
  username    = "windowed"
  permissions = ["machines:get:*"]
}}

resource "sigil_token" "t" {{
  bot_id        = sigil_bot.b.id
  label         = "{label}"
  expiry        = "50s"
  rotate_before = "30s"
}}

output "id" {{
  value = sigil_token.t.id
}}
"#
        )
    };
    tf.config(&config("one"));
    tf.apply();
    let id1 = tf.output("id");
    tf.config(&config("two"));
    let plan_file = tf.path().join("label.tfplan");
    let p = tf.run(&[
        "plan",
        "-input=false",
        "-detailed-exitcode",
        &format!("-out={}", plan_file.display()),
    ]);
    assert_eq!(p.code, 2, "{p:?}");
    assert!(
        p.stdout.contains("sigil_token.t will be updated in-place")
            && !p.all().contains("Token rotation planned"),
        "outside the window when planned: {p:?}"
    );

    // Wait (polling the clock) until the window has opened.
    let t = rt()
        .block_on(owner(&server).get_token("default", id1.parse().unwrap()))
        .unwrap();
    let opens = t.expires_at - time::Duration::seconds(30) + time::Duration::seconds(1);
    loop {
        let left = opens - time::OffsetDateTime::now_utc();
        if left <= time::Duration::ZERO {
            break;
        }
        std::thread::sleep(
            left.unsigned_abs()
                .min(std::time::Duration::from_millis(500)),
        );
    }

    let a = tf.ok(&["apply", "-input=false", plan_file.to_str().unwrap()]);
    assert!(!a.all().contains("Token rotation planned"), "{a:?}");
    assert_eq!(tf.output("id"), id1, "the saved plan replaced nothing");
    let live = rt()
        .block_on(owner(&server).get_token("default", id1.parse().unwrap()))
        .unwrap();
    assert_eq!(live.status, "active");
    assert_eq!(live.label.as_deref(), Some("two"), "and did what it showed");

    // A fresh plan decides again, now inside the window, and says why.
    let p = tf.plan_says("sigil_token.t must be replaced");
    assert!(p.all().contains("Token rotation planned"), "{p:?}");
}

#[test]
fn keepers_force_a_new_token_and_the_old_one_is_revoked() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    let config = |generation: u32, claims: &str| {
        format!(
            r#"
resource "sigil_bot" "b" {{
  username    = "keeper"
  permissions = ["machines:get:*"]
}}

resource "sigil_token" "t" {{
  bot_id  = sigil_bot.b.id
  keepers = {{ generation = "{generation}" }}
  {claims}
}}

output "jwt" {{
  value     = sigil_token.t.token
  sensitive = true
}}
"#
        )
    };
    tf.config(&config(1, ""));
    tf.apply();
    let jwt1 = tf.output("jwt");
    assert_eq!(
        tf.plan().code,
        0,
        "server-default expiry and claims are stable"
    );
    tf.config(&config(2, ""));
    let p = tf.plan();
    assert!(p.stdout.contains("sigil_token.t must be replaced"), "{p:?}");
    tf.apply();
    let jwt2 = tf.output("jwt");
    assert!(
        !accepted(&server, &jwt1),
        "the old token is revoked on replacement"
    );
    assert!(accepted(&server, &jwt2));

    // A replacement is checked like a creation: claims beyond the bot's
    // permissions fail the plan, not the apply (after the old token is gone).
    tf.config(&config(3, r#"claims = ["machines:get,delete:*"]"#));
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    assert!(
        p.stderr.contains("Claims beyond the bot's permissions"),
        "{p:?}"
    );
    assert!(accepted(&server, &jwt2), "nothing was applied");
}

/// Polls the server (at most `secs` seconds) until token `id` has `status`.
fn wait_for_status(server: &TestServer, id: &str, status: &str, secs: u64) {
    let c = owner(server);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let t = rt()
            .block_on(c.get_token("default", id.parse().unwrap()))
            .unwrap();
        if t.status == status {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "token {id} is still {} after {secs}s, not {status}",
            t.status
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `allowed_cidrs` and `max_uses` reach the server as written, are checked at
/// plan by the server's rules, never make a diff, and a change replaces the token.
#[test]
fn binding_and_usage_limits_are_sent_shown_and_force_a_new_token() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    let config = |cidrs: &str, max_uses: u32| {
        format!(
            r#"
resource "sigil_bot" "ci" {{
  username    = "bound"
  permissions = ["machines:get:*"]
}}

resource "sigil_token" "here" {{
  bot_id        = sigil_bot.ci.id
  expiry        = "1d"
  allowed_cidrs = [{cidrs}]
  max_uses      = {max_uses}
}}

# Bound to a network the tests never come from.
resource "sigil_token" "elsewhere" {{
  bot_id        = sigil_bot.ci.id
  expiry        = "1d"
  allowed_cidrs = ["192.0.2.0/24"]
}}

output "here" {{
  value     = sigil_token.here.token
  sensitive = true
}}

output "here_id" {{
  value = sigil_token.here.id
}}

output "elsewhere" {{
  value     = sigil_token.elsewhere.token
  sensitive = true
}}
"#
        )
    };
    // A bare address is a single host: the server answers 127.0.0.1/32, the
    // state keeps this spelling.
    tf.config(&config(r#""127.0.0.1", "::1/128""#, 5));
    tf.apply();
    let (jwt, id) = (tf.output("here"), tf.output("here_id"));
    let t = rt()
        .block_on(owner(&server).get_token("default", id.parse().unwrap()))
        .unwrap();
    let mut cidrs = t.allowed_cidrs.clone();
    cidrs.sort();
    assert_eq!(cidrs, ["127.0.0.1/32", "::1/128"]);
    assert_eq!(t.max_uses, Some(5));
    assert_eq!(tf.plan().code, 0, "no diff: {:?}", tf.plan());

    assert!(accepted(&server, &jwt), "used from an allowed address");
    assert!(
        !accepted(&server, &tf.output("elsewhere")),
        "refused from outside allowed_cidrs"
    );
    // The use is counted; a refresh shows it, and it is no change to plan.
    let p = tf.plan();
    assert_eq!(p.code, 0, "{p:?}");
    tf.ok(&["refresh", "-input=false"]);
    let shown = tf.ok(&["state", "show", "sigil_token.here"]);
    assert!(
        shown
            .stdout
            .lines()
            .any(|l| l.split_whitespace().eq(["uses", "=", "1"])),
        "{shown:?}"
    );

    // A network with host bits set fails the plan, naming the network meant.
    tf.config(&config(r#""127.0.0.1/8""#, 5));
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    assert!(
        p.stderr.contains("Invalid allowed_cidrs")
            && p.stderr
                .contains("has host bits set; the network is 127.0.0.0/8"),
        "{p:?}"
    );
    tf.config(&config(r#""127.0.0.1""#, 0));
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    assert!(
        p.stderr.contains("max_uses must be from 1 to 1000000"),
        "{p:?}"
    );

    // Changing max_uses replaces the token.
    tf.config(&config(r#""127.0.0.1", "::1/128""#, 6));
    let p = tf.plan_says("sigil_token.here must be replaced");
    assert!(
        p.stdout.contains("max_uses") && p.stdout.contains("forces replacement"),
        "{p:?}"
    );
    tf.apply();
    assert!(!accepted(&server, &jwt), "the old token is revoked");
    assert!(accepted(&server, &tf.output("here")));
}

/// A token revoked (by a leak report, say) or exhausted outside Terraform
/// stays viewable with its status: the plan replaces it and says which and
/// why, the apply issues a new one, and `sigil_tokens` lists the dead one.
#[test]
fn a_revoked_or_exhausted_token_is_replaced_and_the_plan_says_why() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    tf.config(
        r#"
resource "sigil_bot" "ci" {
  username    = "mortal"
  permissions = ["machines:get:*"]
}

resource "sigil_token" "ci" {
  bot_id = sigil_bot.ci.id
  label  = "ci"
  expiry = "1d"
}

resource "sigil_token" "once" {
  bot_id   = sigil_bot.ci.id
  label    = "once"
  expiry   = "1d"
  max_uses = 1
}

data "sigil_tokens" "revoked" {
  bot_id     = sigil_bot.ci.id
  status     = ["revoked"]
  depends_on = [sigil_token.ci]
}

output "ci" {
  value     = sigil_token.ci.token
  sensitive = true
}

output "ci_id" {
  value = sigil_token.ci.id
}

output "once" {
  value     = sigil_token.once.token
  sensitive = true
}

output "once_id" {
  value = sigil_token.once.id
}

output "revoked" {
  value = data.sigil_tokens.revoked.tokens
}
"#,
    );
    tf.apply();
    assert_eq!(tf.plan().code, 0);
    let (jwt1, id1) = (tf.output("ci"), tf.output("ci_id"));

    rt().block_on(owner(&server).revoke_token("default", id1.parse().unwrap(), Some("leaked")))
        .unwrap();
    let p = tf.plan_says("sigil_token.ci must be replaced");
    assert!(
        p.stdout
            .contains(r#"status         = "revoked" -> "active" # forces replacement"#),
        "{p:?}"
    );
    assert!(
        p.all().contains(&format!(
            "Token \"ci\" (id {id1}) is revoked (leaked); it will be replaced"
        )),
        "{p:?}"
    );
    assert!(
        !p.stdout.contains("sigil_token.once must be replaced"),
        "{p:?}"
    );
    tf.apply();
    let (jwt2, id2) = (tf.output("ci"), tf.output("ci_id"));
    assert_ne!(id1, id2);
    assert!(!accepted(&server, &jwt1) && accepted(&server, &jwt2));
    assert_eq!(tf.plan().code, 0, "{:?}", tf.plan());

    // The data source's status filter lists the dead token, with its reason.
    let listed: serde_json::Value =
        serde_json::from_str(&tf.ok(&["output", "-json", "revoked"]).stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id1.as_str());
    assert_eq!(listed[0]["status"], "revoked");
    assert_eq!(listed[0]["revoked_reason"], "leaked");

    // max_uses = 1, used once: exhausted, and replaced.
    let (once1, once_id1) = (tf.output("once"), tf.output("once_id"));
    assert!(accepted(&server, &once1), "its one use");
    assert!(!accepted(&server, &once1), "no second use");
    wait_for_status(&server, &once_id1, "exhausted", 10);
    let p = tf.plan_says("sigil_token.once must be replaced");
    assert!(
        p.all().contains(&format!(
            "Token \"once\" (id {once_id1}) is exhausted (1 of 1 uses); it will be replaced"
        )),
        "{p:?}"
    );
    tf.apply();
    assert_ne!(tf.output("once_id"), once_id1);
    assert!(accepted(&server, &tf.output("once")));
}

/// An expired token (the server keeps it viewable) is replaced the same way.
#[test]
fn an_expired_token_is_replaced_and_the_plan_says_so() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    tf.config(
        r#"
resource "sigil_bot" "ci" {
  username    = "brief"
  permissions = ["machines:get:*"]
}

resource "sigil_token" "ci" {
  bot_id = sigil_bot.ci.id
  expiry = "3s"
}

output "id" {
  value = sigil_token.ci.id
}
"#,
    );
    tf.apply();
    let id = tf.output("id");
    wait_for_status(&server, &id, "expired", 30);
    let p = tf.plan_says("sigil_token.ci must be replaced");
    assert!(
        p.all().contains(&format!("Token {id} is expired (at ")),
        "{p:?}"
    );
}

/// #14: the destroy of a token with `grace_period` says how long it stays
/// valid only when that is known to be true. A replacement (the new token
/// proves the bot stays) says it; a `terraform destroy` that deletes the bot
/// too, which revokes the token, does not.
#[test]
fn the_grace_warning_is_given_on_replacement_and_never_when_the_bot_goes_too() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    // The README's example, and a token replaced destroy-then-create.
    let config = |generation: u32| {
        format!(
            r#"
resource "sigil_bot" "deployer" {{
  username    = "deployer"
  permissions = ["machines:get,list:*"]
}}

resource "sigil_token" "ci" {{
  bot_id        = sigil_bot.deployer.id
  label         = "ci"
  expiry        = "90d"
  rotate_before = "14d"
  grace_period  = "1h"
  keepers       = {{ generation = "{generation}" }}
  lifecycle {{ create_before_destroy = true }}
}}

resource "sigil_token" "plain" {{
  bot_id       = sigil_bot.deployer.id
  label        = "plain"
  expiry       = "90d"
  grace_period = "1h"
  keepers      = {{ generation = "{generation}" }}
}}

output "ci" {{
  value     = sigil_token.ci.token
  sensitive = true
}}

output "ci_id" {{
  value = sigil_token.ci.id
}}

output "plain" {{
  value     = sigil_token.plain.token
  sensitive = true
}}

output "plain_id" {{
  value = sigil_token.plain.id
}}
"#
        )
    };
    tf.config(&config(1));
    tf.apply();
    let (ci1, ci_id1) = (tf.output("ci"), tf.output("ci_id"));
    let (plain1, plain_id1) = (tf.output("plain"), tf.output("plain_id"));

    // Replacement: the bot stays, and both old tokens stay valid an hour, as said.
    tf.config(&config(2));
    let a = tf.apply();
    for (id, label) in [(&ci_id1, "ci"), (&plain_id1, "plain")] {
        assert!(
            a.all()
                .contains(&format!("Token \"{label}\" (id {id}) stays valid until")),
            "{a:?}"
        );
    }
    assert!(a.all().contains("grace_period (1h)"), "{a:?}");
    assert!(accepted(&server, &ci1) && accepted(&server, &plain1));
    let (ci2, plain2, plain_id2) = (tf.output("ci"), tf.output("plain"), tf.output("plain_id"));

    // A token removed on its own is shortened, not revoked. Terraform tells
    // the provider nothing about the bot's fate when it destroys a token (see
    // provider/src/token/grace.rs), so no validity is promised here either.
    let alone = config(2);
    let start = alone.find("resource \"sigil_token\" \"plain\"").unwrap();
    let end = alone.find("output \"ci\"").unwrap();
    let outputs = alone.find("output \"plain\"").unwrap();
    tf.config(&format!("{}{}", &alone[..start], &alone[end..outputs]));
    let a = tf.apply();
    assert!(!a.all().contains("stays valid"), "{a:?}");
    assert!(accepted(&server, &plain2), "grace_period: still valid");
    let t = rt()
        .block_on(owner(&server).get_token("default", plain_id2.parse().unwrap()))
        .unwrap();
    assert!(t.expires_at <= time::OffsetDateTime::now_utc() + time::Duration::minutes(61));

    // terraform destroy deletes the bot, which revokes every token of it:
    // no grace period is promised.
    let d = tf.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(!d.all().contains("stays valid"), "{d:?}");
    assert!(!d.all().contains("shortened its expiry"), "{d:?}");
    assert!(!d.all().contains("Warning"), "{d:?}");
    for jwt in [&ci1, &plain1, &ci2, &plain2] {
        assert!(!accepted(&server, jwt), "revoked with the bot");
    }
}
