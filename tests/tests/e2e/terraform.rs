//! The Terraform provider under real `terraform` (1.0.3, the version CI pins:
//! `SIGIL_TERRAFORM`, default `<workspace>/.tools/tf/bin/terraform`) against a
//! real `sigil server`: bots and data sources, revocations, import, bad input
//! at plan, and the examples. `sigil_token`'s lifecycle is in
//! `terraform_token.rs`, webhooks in `terraform_webhook.rs`, ephemeral
//! tokens and write-only secrets in `terraform_ephemeral.rs`. The provider is
//! installed the way users install it: a local plugin directory and
//! `terraform init -plugin-dir`.
//!
//! Each test asserts what a user would notice: the plan's words and exit
//! code, and whether a JWT is accepted by the server.

// Test helpers panic on purpose: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use sigil_e2e::terraform::{accepted, owner, plugin_dir, terraform_bin, Tf, PROVIDERS};
use sigil_e2e::{workspace, TestServer};
use sigil_proto::api::{CreateBot, IssueToken, TokenFilter};

use sigil_e2e::rt1 as rt;

#[test]
fn revocation_resource_revokes_a_token_issued_elsewhere() {
    let server = TestServer::start();
    let c = owner(&server);
    let rt = rt();
    rt.block_on(c.create_bot(
        "default",
        &CreateBot {
            username: "leaky".into(),
            permissions: vec!["machines:get:*".into()],
            ..Default::default()
        },
    ))
    .unwrap();
    let issue = |label: &str| {
        rt.block_on(c.issue_token(
            "default",
            &IssueToken {
                owner: "leaky".into(),
                label: Some(label.into()),
                expiry: Some("1d".into()),
                ..Default::default()
            },
            None,
        ))
        .unwrap()
    };
    let leaked = issue("leaked");
    let other = issue("other");
    let already = issue("already");
    rt.block_on(c.revoke_token("default", already.metadata.id, Some("earlier")))
        .unwrap();
    assert!(accepted(&server, leaked.token.expose()));

    let tf = Tf::new(&server);
    tf.config(&format!(
        r#"
resource "sigil_token_revocation" "leaked" {{
  token_id = "{}"
  reason   = "posted in a CI log"
}}

resource "sigil_token_revocation" "already" {{
  token_id = "{}"
}}
"#,
        leaked.metadata.id,
        // Upper case: the planned `id` (this spelling) is what apply returns.
        already.metadata.id.to_string().to_uppercase()
    ));
    tf.apply();
    assert!(
        !accepted(&server, leaked.token.expose()),
        "revoked on create"
    );
    assert!(
        accepted(&server, other.token.expose()),
        "the bot's other tokens are untouched"
    );
    let t = rt
        .block_on(c.get_token("default", leaked.metadata.id))
        .unwrap();
    assert_eq!(t.status, "revoked");
    assert_eq!(tf.plan().code, 0, "{:?}", tf.plan());

    // Destroying only forgets, and says so.
    let d = tf.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(d.all().contains("cannot be undone"), "{d:?}");
    assert!(!accepted(&server, leaked.token.expose()), "still revoked");
}

#[test]
fn bad_input_fails_at_plan_naming_the_attribute() {
    let server = TestServer::start();
    let c = owner(&server);
    let bot = rt()
        .block_on(c.create_bot(
            "default",
            &CreateBot {
                username: "narrow".into(),
                permissions: vec!["machines:get:*".into()],
                ..Default::default()
            },
        ))
        .unwrap();
    let tf = Tf::new(&server);

    // Syntax: caught while validating, each on its attribute.
    tf.config(&format!(
        r#"
resource "sigil_bot" "bad" {{
  username    = "Not Valid"
  permissions = ["machines:get"]
}}

resource "sigil_token" "duration" {{
  bot_id = "{id}"
  expiry = "10 days"
}}

resource "sigil_token" "both" {{
  bot_id     = "{id}"
  expiry     = "10d"
  expires_at = "2030-01-01T00:00:00Z"
}}

resource "sigil_token" "claim" {{
  bot_id = "{id}"
  claims = ["machines:get:*", "bots"]
}}

resource "sigil_token" "grace" {{
  bot_id       = "{id}"
  grace_period = "forever"
}}
"#,
        id = bot.id
    ));
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    for (summary, source_line) in [
        ("Invalid username", r#"username    = "Not Valid""#),
        ("Invalid permission", r#"permissions = ["machines:get"]"#),
        ("Invalid expiry", r#"expiry = "10 days""#),
        (
            "Conflicting expiry and expires_at",
            r#"expires_at = "2030-01-01T00:00:00Z""#,
        ),
        ("Invalid claim", r#"claims = ["machines:get:*", "bots"]"#),
        ("Invalid grace_period", r#"grace_period = "forever""#),
    ] {
        let block = p.error_block(summary, 6);
        assert!(
            block.contains(source_line),
            "{summary} points at its attribute: {block}"
        );
    }
    assert!(
        p.stderr.contains("100d"),
        "duration errors show the accepted forms: {p:?}"
    );

    // A claim beyond the bot's permissions: caught at plan, on `claims`, with the server's code.
    tf.config(&format!(
        r#"
resource "sigil_token" "wide" {{
  bot_id = "{}"
  claims = ["machines:get,delete:*"]
}}
"#,
        bot.id
    ));
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    assert!(
        p.stderr.contains("Claims beyond the bot's permissions"),
        "{p:?}"
    );
    assert!(p.stderr.contains("claims_exceed_owner"), "{p:?}");
    assert!(
        p.stderr.contains(r#"claims = ["machines:get,delete:*"]"#),
        "{p:?}"
    );

    let tokens = rt()
        .block_on(c.list_all_tokens(
            "default",
            &TokenFilter {
                owner: Some("narrow".into()),
                ..Default::default()
            },
        ))
        .unwrap();
    assert!(tokens.is_empty(), "nothing was issued");
}

#[test]
fn import_a_bot_and_a_token() {
    let server = TestServer::start();
    let c = owner(&server);
    let rt = rt();
    let bot = rt
        .block_on(c.create_bot(
            "default",
            &CreateBot {
                username: "imported".into(),
                description: Some("made by hand".into()),
                permissions: vec!["machines:get,list:*".into()],
                ..Default::default()
            },
        ))
        .unwrap();
    let issued = rt
        .block_on(c.issue_token(
            "default",
            &IssueToken {
                owner: "imported".into(),
                label: Some("by-hand".into()),
                expiry: Some("30d".into()),
                ..Default::default()
            },
            None,
        ))
        .unwrap();
    let tf = Tf::new(&server);
    tf.config(
        r#"
resource "sigil_bot" "b" {
  username    = "imported"
  description = "made by hand"
  permissions = ["machines:get,list:*"]
}

resource "sigil_token" "t" {
  bot_id = sigil_bot.b.id
  label  = "by-hand"
  expiry = "30d"
}
"#,
    );
    tf.ok(&["import", "-input=false", "sigil_bot.b", "default/imported"]);
    tf.ok(&[
        "import",
        "-input=false",
        "sigil_token.t",
        &issued.metadata.id.to_string(),
    ]);
    let p = tf.plan();
    assert!(
        !p.stdout.contains("must be replaced"),
        "an import never replaces: {p:?}"
    );
    assert!(!p.stdout.contains("will be created"), "{p:?}");
    tf.apply();
    assert_eq!(tf.plan().code, 0, "settled after one apply");
    assert!(
        accepted(&server, issued.token.expose()),
        "the imported token keeps working"
    );
    let show = tf.ok(&["state", "show", "sigil_token.t"]).stdout;
    assert!(show.contains(&bot.id.to_string()), "{show}");

    // A token whose configuration matches at once: the first plan after the
    // import has nothing to adopt. Once that plan is applied, adoption is over:
    // adding keepers later replaces the token like for any other.
    let plain = rt
        .block_on(c.issue_token(
            "default",
            &IssueToken {
                owner: "imported".into(),
                label: Some("plain".into()),
                expiry: Some("30d".into()),
                ..Default::default()
            },
            None,
        ))
        .unwrap();
    let with_plain = |keepers: &str| {
        format!(
            r#"
resource "sigil_bot" "b" {{
  username    = "imported"
  description = "made by hand"
  permissions = ["machines:get,list:*"]
}}

resource "sigil_token" "t" {{
  bot_id = sigil_bot.b.id
  label  = "by-hand"
  expiry = "30d"
}}

resource "sigil_token" "plain" {{
  bot_id = sigil_bot.b.id
  label  = "plain"
  {keepers}
}}
"#
        )
    };
    tf.config(&with_plain(""));
    tf.ok(&[
        "import",
        "-input=false",
        "sigil_token.plain",
        &plain.metadata.id.to_string(),
    ]);
    let p = tf.plan();
    assert_eq!(p.code, 0, "nothing to adopt: {p:?}");
    tf.apply();
    tf.config(&with_plain(r#"keepers = { generation = "2" }"#));
    let p = tf.plan();
    assert_eq!(p.code, 2, "{p:?}");
    assert!(
        p.stdout.contains("sigil_token.plain must be replaced"),
        "a keepers change after adoption replaces the token: {p:?}"
    );
    tf.config(&with_plain(""));

    // Import by id works too.
    tf.ok(&["state", "rm", "sigil_bot.b"]);
    tf.ok(&["import", "-input=false", "sigil_bot.b", &bot.id.to_string()]);
    assert_eq!(tf.plan().code, 0);
}

/// Copies `examples/` to a scratch directory (so no `.terraform` lands in the repo).
fn copy_examples(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == ".terraform" || name.to_string_lossy().starts_with("terraform.tfstate") {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(&name));
            } else {
                std::fs::copy(e.path(), to.join(&name)).unwrap();
            }
        }
    }
    copy(&workspace().join("examples"), to);
}

#[test]
fn module_example_applies_twice_and_destroys_cleanly() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    copy_examples(tf.path());
    tf.ok(&[
        "init",
        "-input=false",
        &format!("-plugin-dir={}", plugin_dir().display()),
    ]);
    tf.apply();
    let web = tf.output("ci_web_token");
    let api = tf.output("ci_api_token");
    assert!(accepted(&server, &web) && accepted(&server, &api));
    assert_eq!(tf.plan().code, 0);
    let c = owner(&server);
    let bots = rt().block_on(c.list_all_bots("default")).unwrap();
    let names: Vec<&str> = bots.iter().map(|b| b.username.as_str()).collect();
    assert!(
        names.contains(&"ci-web") && names.contains(&"ci-api"),
        "{names:?}"
    );
    tf.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(!accepted(&server, &web) && !accepted(&server, &api));
    assert!(rt()
        .block_on(c.list_all_bots("default"))
        .unwrap()
        .iter()
        .all(|b| !b.username.starts_with("ci-")));
}

#[test]
fn every_example_is_formatted_and_valid() {
    let tf_bin = terraform_bin();
    let fmt = Command::new(&tf_bin)
        .args(["fmt", "-check", "-recursive", "-diff"])
        .current_dir(workspace().join("examples"))
        .output()
        .unwrap();
    assert!(
        fmt.status.success(),
        "terraform fmt -check: {}",
        String::from_utf8_lossy(&fmt.stdout)
    );

    let scratch = tempfile::tempdir().unwrap();
    copy_examples(scratch.path());
    let mut roots = vec![scratch.path().to_path_buf()];
    for group in ["provider", "modules", "resources", "data-sources"] {
        let g = scratch.path().join(group);
        if g.join("provider.tf").exists() {
            roots.push(g);
            continue;
        }
        for e in std::fs::read_dir(&g).unwrap() {
            roots.push(e.unwrap().path());
        }
    }
    for root in roots {
        let has_terraform_block = std::fs::read_dir(&root).unwrap().any(|e| {
            let p = e.unwrap().path();
            p.extension().is_some_and(|x| x == "tf")
                && std::fs::read_to_string(&p)
                    .unwrap()
                    .contains("required_providers")
        });
        if !has_terraform_block {
            std::fs::write(root.join("providers_test.tf"), PROVIDERS).unwrap();
        }
        for args in [
            vec![
                "init".to_string(),
                "-input=false".into(),
                "-backend=false".into(),
                format!("-plugin-dir={}", plugin_dir().display()),
            ],
            vec!["validate".to_string()],
        ] {
            let out = Command::new(&tf_bin)
                .args(&args)
                .arg("-no-color")
                .current_dir(&root)
                .env("CHECKPOINT_DISABLE", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "terraform {args:?} in {}: {}{}",
                root.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn bot_updates_in_place_data_sources_read_and_a_deleted_bot_is_recreated() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    let config = |description: &str, permissions: &str, github: &str| {
        format!(
            r#"
resource "sigil_app" "web" {{
  name = "web"
}}

resource "sigil_bot" "b" {{
  username    = "dsbot"
  description = "{description}"
  permissions = [{permissions}]
  identities  = {{ github = "{github}" }}
}}

resource "sigil_token" "t" {{
  bot_id = sigil_bot.b.id
  app_id = sigil_app.web.id
  expiry = "1d"
}}

data "sigil_bot" "b" {{
  username   = sigil_bot.b.username
  depends_on = [sigil_bot.b]
}}

data "sigil_bots" "all" {{
  depends_on = [sigil_bot.b]
}}

data "sigil_app" "web" {{
  name = sigil_app.web.name
}}

data "sigil_tokens" "t" {{
  bot_id     = sigil_bot.b.id
  depends_on = [sigil_token.t]
}}

output "bot_id" {{
  value = sigil_bot.b.id
}}

output "ds_bot_id" {{
  value = data.sigil_bot.b.id
}}

output "ds_bot_permissions" {{
  value = join(" ", sort(data.sigil_bot.b.permissions))
}}

output "ds_bots" {{
  value = join(",", [for b in data.sigil_bots.all.bots : b.username])
}}

output "ds_app_matches" {{
  value = data.sigil_app.web.id == sigil_app.web.id
}}

output "ds_token" {{
  value = "${{length(data.sigil_tokens.t.tokens)}} ${{data.sigil_tokens.t.tokens[0].scope}} ${{data.sigil_tokens.t.tokens[0].app_id == sigil_app.web.id}}"
}}
"#
        )
    };
    tf.config(&config("one", r#""machines:get:*""#, "dsbot"));
    tf.apply();
    assert_eq!(tf.output("ds_bot_id"), tf.output("bot_id"));
    assert_eq!(tf.output("ds_bot_permissions"), "machines:get:*");
    assert_eq!(tf.output("ds_bots"), "dsbot");
    assert_eq!(tf.output("ds_app_matches"), "true");
    assert_eq!(tf.output("ds_token"), "1 app true");
    assert_eq!(tf.plan().code, 0, "{:?}", tf.plan());

    // Description, permissions and identities change in place: same bot, same token.
    let bot_id = tf.output("bot_id");
    tf.config(&config(
        "two",
        r#""machines:get:*", "machines:list:*""#,
        "dsbot-2",
    ));
    let p = tf.plan();
    assert!(
        p.stdout.contains("sigil_bot.b will be updated in-place"),
        "{p:?}"
    );
    assert!(!p.stdout.contains("must be replaced"), "{p:?}");
    tf.apply();
    assert_eq!(tf.output("bot_id"), bot_id);
    let b = rt()
        .block_on(owner(&server).get_bot("default", "dsbot"))
        .unwrap();
    assert_eq!(b.description, "two");
    assert_eq!(
        b.identities.get("github").map(String::as_str),
        Some("dsbot-2")
    );
    assert_eq!(
        tf.output("ds_bot_permissions"),
        "machines:get:* machines:list:*"
    );
    assert_eq!(tf.plan().code, 0);

    // Deleted outside Terraform: the plan creates the bot again, and replaces
    // its token, which the deletion revoked (still viewable), saying why.
    rt().block_on(owner(&server).delete_bot("default", &bot_id))
        .unwrap();
    let p = tf.plan_says("sigil_bot.b will be created");
    assert!(p.stdout.contains("sigil_token.t must be replaced"), "{p:?}");
    assert!(p.all().contains("is revoked (owner deleted)"), "{p:?}");
    tf.apply();
    assert_ne!(tf.output("bot_id"), bot_id);
    assert_eq!(tf.plan().code, 0);
}
