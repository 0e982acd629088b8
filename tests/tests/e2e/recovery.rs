//! Owner recovery (`sigil admin owner-token`) on the server host, and the
//! provider's install script run from another directory.

use sigil_e2e::rt1 as rt;
use sigil_e2e::{ServerOptions, TestServer};
use sigil_proto::api::{CreateUser, IssueToken, ListQuery};
use sigil_proto::SecretString;
use std::path::Path;
use std::process::{Command, Output};

fn owner_token(dir: &Path, extra: &[&str]) -> Output {
    Command::new(sigil_e2e::sigil_bin())
        .args(["admin", "owner-token", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("SIGIL_MASTER_KEY")
        .env_remove("SIGIL_DATABASE_URL")
        .env_remove("SIGIL_MASTER_KEY_FILE")
        .env_remove("SIGIL_ORG")
        .output()
        .unwrap()
}

#[test]
fn admin_owner_token_gets_the_owner_back_in_and_is_audited() {
    let s = TestServer::start();
    // While the server holds the SQLite data dir, recovery refuses, naming it.
    let out = owner_token(s.data_dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("stop the server") && err.contains(&format!("pid {}", s.child.id())),
        "{err}"
    );
    let keep = s.stop();

    let out = owner_token(keep.path(), &["--expiry", "30m"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("cannot be shown again"), "{err}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = SecretString::new(stdout.trim());
    assert_eq!(stdout.trim().split('.').count(), 3, "one JWT on stdout");
    assert!(!err.contains(token.expose()), "the token went to stderr");

    // Over the human cap: refused, nothing issued.
    let out = owner_token(keep.path(), &["--expiry", "2d"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max-user-token-lifetime"));

    let s = TestServer::start_with(ServerOptions {
        data_dir: Some(keep.path().to_path_buf()),
        ..Default::default()
    });
    rt().block_on(async {
        let owner = s.client_with(&token);
        let me = owner.whoami().await.unwrap();
        assert_eq!(me.name, "owner@sigil.local");
        assert_eq!(me.claims, vec!["*:*:*"]);
        let audit = owner.audit("default", &ListQuery::default()).await.unwrap();
        let e = audit
            .items
            .iter()
            .find(|e| e.action == "owner.recover")
            .expect("an owner.recover audit entry");
        assert_eq!(e.actor, "system");
        assert_eq!(e.actor_id, None);
    });
    assert!(
        !s.logs().contains(token.expose()),
        "the token reached a log"
    );
    // Its data dir is `keep`, which outlives it.
    drop(s);

    // A wrong master key refuses, and issues nothing.
    let wrong = keep.path().join("wrong.key");
    std::fs::write(&wrong, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").unwrap();
    let out = owner_token(keep.path(), &["--master-key-file", wrong.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("master key does not match"), "{err}");
    assert!(out.stdout.is_empty());

    // JSON output carries the token and its metadata.
    let out = owner_token(keep.path(), &["-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["owner"], "owner@sigil.local");
    assert_eq!(v["org"], "default");
    assert!(v["token"].as_str().unwrap().starts_with("ey"));
}

/// A deleted owner user is created again, with `*:*:*`.
#[test]
fn admin_owner_token_recreates_a_deleted_owner() {
    let s = TestServer::start();
    rt().block_on(async {
        let owner = s.client();
        owner
            .create_user(
                "default",
                &CreateUser {
                    email: "ops@example.com".into(),
                    permissions: vec!["*:*:*".into()],
                },
            )
            .await
            .unwrap();
        let ops = owner
            .issue_token(
                "default",
                &IssueToken {
                    owner: "ops@example.com".into(),
                    expiry: Some("1h".into()),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        s.client_with(&ops.token)
            .delete_user("default", "owner@sigil.local")
            .await
            .unwrap();
    });
    let keep = s.stop();
    let out = owner_token(keep.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("created again"), "{err}");
    let token = SecretString::new(String::from_utf8(out.stdout).unwrap().trim());
    let s = TestServer::start_with(ServerOptions {
        data_dir: Some(keep.path().to_path_buf()),
        ..Default::default()
    });
    let me = rt().block_on(s.client_with(&token).whoami()).unwrap();
    assert_eq!(me.name, "owner@sigil.local");
    assert_eq!(me.claims, vec!["*:*:*"]);
}

#[test]
fn admin_owner_token_refuses_a_data_dir_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = owner_token(dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no database at"), "{err}");
    assert!(!dir.path().join("master.key").exists(), "no key generated");
}

/// `provider/install.sh --dir ./plugins` installs relative to the caller's
/// directory, and `-h` prints a usage text.
#[test]
fn install_script_dir_is_relative_to_the_caller() {
    let script = sigil_e2e::workspace().join("provider/install.sh");
    let help = Command::new("bash")
        .arg(&script)
        .arg("-h")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.starts_with("Usage: provider/install.sh"), "{help}");
    assert!(!help.contains("set -euo"), "{help}");

    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .args(["--dir", "./plugins", "--binary"])
        .arg(sigil_e2e::provider_bin())
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("terraform init -plugin-dir=./plugins"),
        "{stdout}"
    );
    let mirror = cwd.path().join("plugins/registry.terraform.io/sigil/sigil");
    let installed = walk(&mirror);
    assert!(
        installed
            .iter()
            .any(|p| p.to_string_lossy().contains("terraform-provider-sigil_v")),
        "{installed:?}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
