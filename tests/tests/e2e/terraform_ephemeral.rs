//! Ephemeral tokens and write-only secrets under a modern Terraform (≥ 1.10
//! for `ephemeral`, ≥ 1.11 for `secret_wo`: `SIGIL_TERRAFORM_MODERN`, else
//! `terraform` on PATH; each test says which it used, or that it found none
//! and skipped), and what Terraform 1.0.3 sees of the same provider binary.
//!
//! What a user would notice: the token works inside the run (a second,
//! aliased provider configured with it creates a bot); after `plan` and
//! after `apply` every token the run opened is revoked (`ephemeral closed`)
//! and nothing else is; no JWT is in the state or a saved plan; a write-only
//! webhook secret signs deliveries, is in no state or plan, and changes when
//! its version is bumped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_e2e::receiver::{signed_with, Receiver};
use sigil_e2e::terraform::{Terraform, Tf};
use sigil_e2e::{rt1 as rt, TestServer};
use sigil_proto::api::{CreateBot, IssueToken, Token, TokenFilter};
use uuid::Uuid;

const REASON: &str = "ephemeral closed";
const DEPLOY_CLAIMS: &str = "bots:create,get,list,update,delete:*";

/// The modern Terraform, or `None` (said on stderr) when there is none.
fn modern(server: &TestServer, need_write_only: bool) -> Option<(Tf, Terraform)> {
    let (tf, t) = Tf::modern(server)?;
    if need_write_only && !t.write_only() {
        eprintln!(
            "write-only cases: SKIPPED, {} has no write-only attributes (1.11+)",
            t.describe()
        );
        return None;
    }
    Some((tf, t))
}

/// Every token of the org whose label is `label`, revoked ones too.
fn tokens_labelled(server: &TestServer, label: &str) -> Vec<Token> {
    let filter = TokenFilter {
        include_revoked: Some(true),
        ..Default::default()
    };
    rt().block_on(server.client().list_all_tokens("default", &filter))
        .unwrap()
        .into_iter()
        .filter(|t| t.label.as_deref() == Some(label))
        .collect()
}

fn all_closed(tokens: &[Token]) -> bool {
    tokens
        .iter()
        .all(|t| t.revoked_at.is_some() && t.revoked_reason.as_deref() == Some(REASON))
}

/// Files of the working directory that may hold values: the state (and its
/// backup) and saved plans, with `terraform show -json` of each plan.
fn stored(tf: &Tf) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(tf.path()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tfstate") || name.ends_with(".tfstate.backup") {
            out.push((name, std::fs::read_to_string(e.path()).unwrap()));
        } else if name.ends_with(".tfplan") {
            // A zip: look at the raw bytes and at what `show -json` reads out.
            let raw = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            out.push((name.clone(), raw));
            out.push((
                format!("{name} (show -json)"),
                tf.ok(&["show", "-json", &name]).stdout,
            ));
        }
    }
    out
}

fn assert_not_stored(tf: &Tf, secrets: &[&str]) {
    let files = stored(tf);
    assert!(!files.is_empty(), "no state or plan file to check");
    for (name, text) in files {
        for s in secrets {
            assert!(!text.contains(s), "{name} holds a secret");
        }
    }
}

fn assert_no_jwt(tf: &Tf) {
    assert_not_stored(tf, &["eyJ"]);
}

#[test]
fn an_ephemeral_token_works_in_the_run_and_is_revoked_after_plan_and_apply() {
    let server = TestServer::start();
    let Some((tf, t)) = modern(&server, false) else {
        return;
    };
    eprintln!("ephemeral sigil_token: {}", t.describe());
    let owner = server.client();
    let deployer = rt()
        .block_on(owner.create_bot(
            "default",
            &CreateBot {
                username: "deployer".into(),
                permissions: vec![DEPLOY_CLAIMS.into()],
                ..Default::default()
            },
        ))
        .unwrap();
    // A token of the same bot made outside Terraform: never touched.
    let other = rt()
        .block_on(owner.issue_token(
            "default",
            &IssueToken {
                owner: deployer.id.to_string(),
                label: Some("by hand".into()),
                ..Default::default()
            },
            None,
        ))
        .unwrap();
    tf.config(&format!(
        r#"
ephemeral "sigil_token" "ci" {{
  bot_id = "{bot}"
  claims = ["{DEPLOY_CLAIMS}"]
  expiry = "15m"
}}

provider "sigil" {{
  alias = "ci"
  token = ephemeral.sigil_token.ci.token
}}

resource "sigil_bot" "made" {{
  provider    = sigil.ci
  username    = "made-by-ephemeral"
  description = "made with an ephemeral token"
}}
"#,
        bot = deployer.id
    ));

    // plan opens one (to configure sigil.ci and read through it) and closes it.
    let p = tf.run(&["plan", "-input=false", "-out=run.tfplan"]);
    assert_eq!(p.code, 0, "{p:?}");
    assert!(p.stdout.contains("sigil_bot.made will be created"), "{p:?}");
    let after_plan = tokens_labelled(&server, "terraform ephemeral");
    assert!(!after_plan.is_empty(), "plan opened a token");
    assert!(
        all_closed(&after_plan),
        "plan closed what it opened: {after_plan:?}"
    );
    assert!(after_plan.iter().all(|t| t.owner_id == deployer.id));
    assert_no_jwt(&tf);

    // apply (of the saved plan) opens its own, creates the bot with it, closes it.
    let a = tf.run(&["apply", "-input=false", "run.tfplan"]);
    assert_eq!(a.code, 0, "{a:?}");
    let made = rt()
        .block_on(owner.get_bot("default", "made-by-ephemeral"))
        .expect("the aliased provider created the bot with the ephemeral token");
    assert_eq!(made.description, "made with an ephemeral token");
    let after_apply = tokens_labelled(&server, "terraform ephemeral");
    assert!(
        after_apply.len() > after_plan.len(),
        "apply opened its own token"
    );
    assert!(
        all_closed(&after_apply),
        "apply closed what it opened: {after_apply:?}"
    );
    assert_no_jwt(&tf);

    // A second plan: no changes, and its token closed too.
    let p = tf.plan();
    assert_eq!(p.code, 0, "{p:?}");
    let after_second = tokens_labelled(&server, "terraform ephemeral");
    assert!(after_second.len() > after_apply.len());
    assert!(all_closed(&after_second));
    assert_no_jwt(&tf);

    // Nothing else was touched.
    let kept = rt()
        .block_on(owner.get_token("default", other.metadata.id))
        .unwrap();
    assert!(kept.revoked_at.is_none(), "{kept:?}");
    assert!(rt()
        .block_on(server.client_with(&other.token).whoami())
        .is_ok());
    assert!(rt().block_on(owner.whoami()).is_ok());
}

#[test]
fn a_derived_token_is_narrower_works_in_the_run_and_is_revoked() {
    let server = TestServer::start();
    let Some((tf, t)) = modern(&server, false) else {
        return;
    };
    eprintln!("ephemeral sigil_derived_token: {}", t.describe());
    tf.config(&format!(
        r#"
ephemeral "sigil_derived_token" "narrow" {{
  claims = ["{DEPLOY_CLAIMS}"]
  expiry = "10m"
  label  = "narrow run"
}}

provider "sigil" {{
  alias = "narrow"
  token = ephemeral.sigil_derived_token.narrow.token
}}

resource "sigil_bot" "d" {{
  provider = sigil.narrow
  username = "made-by-derived"
}}
"#
    ));
    tf.apply();
    rt().block_on(server.client().get_bot("default", "made-by-derived"))
        .expect("the derived token created the bot");
    let derived = tokens_labelled(&server, "narrow run");
    assert!(
        derived.len() >= 2,
        "plan and apply each derived one: {derived:?}"
    );
    assert!(all_closed(&derived), "{derived:?}");
    for d in &derived {
        assert!(
            d.parent_id.is_some(),
            "a child of the provider's token: {d:?}"
        );
        assert_eq!(d.claims, [DEPLOY_CLAIMS], "{d:?}");
    }
    assert_no_jwt(&tf);
    assert!(
        rt().block_on(server.client().whoami()).is_ok(),
        "the parent lives on"
    );
}

/// A webhook whose secret comes from a variable (as from a secret manager:
/// never a literal, which Terraform would show in its own messages and
/// keep in a saved plan's copy of the configuration). `ephemeral` for
/// Terraform ≥ 1.10, which then keeps the variable out of plans too.
fn webhook_config(url: &str, version: u32, ephemeral: bool) -> String {
    let eph = if ephemeral {
        "\n  ephemeral = true"
    } else {
        ""
    };
    format!(
        r#"
variable "hook_secret" {{
  type      = string
  sensitive = true{eph}
}}

resource "sigil_webhook" "w" {{
  url               = "{url}"
  events            = ["token.issued"]
  secret_wo         = var.hook_secret
  secret_wo_version = {version}
}}
"#
    )
}

fn var(secret: &str) -> String {
    format!("-var=hook_secret={secret}")
}

fn test_delivery(
    server: &TestServer,
    rx: &Receiver,
    id: &str,
    n: usize,
) -> sigil_e2e::receiver::Received {
    rt().block_on(
        server
            .client()
            .test_webhook("default", Uuid::parse_str(id).unwrap()),
    )
    .unwrap();
    rx.wait_for("a test delivery", |r| {
        r.header("sigil-event") == Some("webhook.test")
    });
    // The n-th test delivery (bounded by wait_for above for the first).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let got: Vec<_> = rx
            .received()
            .into_iter()
            .filter(|r| r.header("sigil-event") == Some("webhook.test"))
            .collect();
        if got.len() >= n {
            return got[n - 1].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no test delivery {n}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_write_only_webhook_secret_signs_deliveries_is_never_stored_and_rotates_by_version() {
    let server = TestServer::start();
    let Some((tf, t)) = modern(&server, true) else {
        return;
    };
    eprintln!("write-only secret_wo: {}", t.describe());
    let rx = Receiver::start(200);
    let first = "first-secret-from-a-vault-0001";
    let second = "second-secret-from-a-vault-0002";
    tf.config(&webhook_config(&rx.url, 1, true));
    let p = tf.run(&["plan", "-input=false", "-out=hook.tfplan", &var(first)]);
    assert_eq!(p.code, 0, "{p:?}");
    assert!(!p.stdout.contains(first), "{p:?}");
    assert_not_stored(&tf, &[first]);
    let a = tf.run(&["apply", "-input=false", &var(first), "hook.tfplan"]);
    assert_eq!(a.code, 0, "{a:?}");
    let values = tf.resource("sigil_webhook.w").unwrap();
    let id = values["id"].as_str().unwrap().to_string();
    assert!(values["secret_wo"].is_null(), "{values}");
    assert!(
        values["secret"].is_null(),
        "no generated secret with secret_wo: {values}"
    );
    assert_eq!(values["secret_wo_version"], 1);
    let got = test_delivery(&server, &rx, &id, 1);
    assert!(
        signed_with(&got, first),
        "signed with the write-only secret: {got:?}"
    );
    assert_not_stored(&tf, &[first]);
    let plan = |secret: &str| tf.run(&["plan", "-input=false", "-detailed-exitcode", &var(secret)]);
    assert_eq!(plan(first).code, 0, "settled: no perpetual diff");

    // A new secret with the same version is not sent (Terraform cannot see it).
    assert_eq!(plan(second).code, 0);

    // Bumping the version sends it.
    tf.config(&webhook_config(&rx.url, 2, true));
    let p = plan(second);
    assert_eq!(p.code, 2, "{p:?}");
    assert!(
        p.stdout
            .contains("sigil_webhook.w will be updated in-place"),
        "{p:?}"
    );
    tf.ok(&["apply", "-auto-approve", "-input=false", &var(second)]);
    let got = test_delivery(&server, &rx, &id, 2);
    assert!(
        signed_with(&got, second),
        "the bumped secret signs now: {got:?}"
    );
    assert!(!signed_with(&got, first));
    assert_not_stored(&tf, &[first, second]);
    assert_eq!(plan(second).code, 0);

    // secret_wo_version alone is refused at plan, on the attribute.
    tf.config(&format!(
        r#"
resource "sigil_webhook" "v" {{
  url               = "{}"
  secret_wo_version = 1
}}
"#,
        rx.url
    ));
    let p = tf.plan();
    assert_eq!(p.code, 1, "{p:?}");
    assert!(
        p.error_block("secret_wo_version without secret_wo", 6)
            .contains("secret_wo_version"),
        "{p:?}"
    );
}

#[test]
fn terraform_1_0_sees_no_ephemeral_type_and_is_refused_write_only_secrets() {
    let server = TestServer::start();
    let tf = Tf::new(&server);
    tf.config("");
    let schema: serde_json::Value =
        serde_json::from_str(&tf.ok(&["providers", "schema", "-json"]).stdout).unwrap();
    let sigil = &schema["provider_schemas"]["registry.terraform.io/sigil/sigil"];
    assert!(
        sigil["resource_schemas"]["sigil_token"].is_object(),
        "{sigil}"
    );
    assert!(
        sigil.get("ephemeral_resource_schemas").is_none(),
        "Terraform 1.0.3 sees no ephemeral type: {sigil}"
    );
    let text = sigil.to_string();
    assert!(
        !text.contains("derived_token") && !text.contains("write_only"),
        "{text}"
    );

    // It would store secret_wo in state: refused at plan, on the attribute.
    tf.config(&webhook_config("https://hooks.example.com/x", 1, false));
    let p = tf.run(&["plan", "-input=false", &var("a-secret-of-sixteen+")]);
    assert_eq!(p.code, 1, "{p:?}");
    let block = p.error_block("secret_wo needs Terraform 1.11 or later", 8);
    assert!(block.contains("secret_wo"), "{block}");
    assert!(!p.all().contains("a-secret-of-sixteen+"), "{p:?}");
    let hooks = rt()
        .block_on(server.client().list_all_webhooks("default"))
        .unwrap();
    assert!(hooks.is_empty());

    // And a modern Terraform sees the ephemeral types and the flag.
    let Some((modern_tf, t)) = modern(&server, false) else {
        return;
    };
    eprintln!("schema under {}", t.describe());
    modern_tf.config("");
    let schema: serde_json::Value =
        serde_json::from_str(&modern_tf.ok(&["providers", "schema", "-json"]).stdout).unwrap();
    let sigil = &schema["provider_schemas"]["registry.terraform.io/sigil/sigil"];
    let eph = &sigil["ephemeral_resource_schemas"];
    assert!(
        eph["sigil_token"].is_object() && eph["sigil_derived_token"].is_object(),
        "{sigil}"
    );
    let wo = &sigil["resource_schemas"]["sigil_webhook"]["block"]["attributes"]["secret_wo"];
    if t.write_only() {
        assert_eq!(wo["write_only"], true, "{wo}");
    }
}

#[test]
fn the_ephemeral_examples_are_valid_and_apply_under_a_modern_terraform() {
    let server = TestServer::start();
    let Some((_, t)) = modern(&server, false) else {
        return;
    };
    eprintln!("ephemeral examples: {}", t.describe());
    let examples = sigil_e2e::workspace().join("examples/ephemeral-resources");
    for e in std::fs::read_dir(&examples).unwrap() {
        let dir = e.unwrap().path();
        let tf = Tf::with(&server, t.bin.clone());
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, tf.path().join(f.file_name().unwrap())).unwrap();
        }
        // `config` adds the provider requirement in main.tf and inits.
        tf.config("");
        let v = tf.run(&["validate"]);
        assert_eq!(v.code, 0, "{}: {v:?}", dir.display());
        // And they apply: the sigil_token one opens its token only at apply,
        // after the bot it names exists (unknown at plan).
        tf.apply();
        assert_eq!(tf.plan().code, 0, "{}: settled", dir.display());
        assert_no_jwt(&tf);
    }
    let bot = |name: &str| rt().block_on(server.client().get_bot("default", name));
    assert!(bot("made-in-the-run").is_ok() && bot("build").is_ok());
    let opened = tokens_labelled(&server, "terraform ephemeral");
    assert!(opened.len() >= 3, "{opened:?}");
    assert!(all_closed(&opened), "{opened:?}");
}
