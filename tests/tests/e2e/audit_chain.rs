//! The tamper-evident audit log (SPEC §6) with the real binaries: two
//! replicas on one PostgreSQL database write the same org's chain at once and
//! never fork it; `sigil audit verify` says it is intact, and after a row is
//! changed directly in the database, names that row and exits 1.

use sigil_e2e::cli::clean_sigil;
use sigil_e2e::{replicas, rt, TestServer};
use sigil_proto::api::CreateBot;
use std::process::{Command, Output};

/// `sigil audit ARGS…` against `srv` as `owner` (the replica that
/// bootstrapped), with nothing of the caller's environment or login.
fn audit(srv: &TestServer, owner: &TestServer, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    clean_sigil(home.path())
        .env("SIGIL_ENDPOINT", &srv.endpoint)
        .env("SIGIL_TOKEN", owner.owner_token.expose())
        .arg("audit")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn two_replicas_write_one_chain_and_a_changed_row_is_named() {
    let (db, a, b) = replicas(false);
    rt().block_on(async {
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..30 {
            let c = if i % 2 == 0 {
                a.client()
            } else {
                b.client_with(&a.owner_token)
            };
            writes.spawn(async move {
                c.create_bot(
                    "default",
                    &CreateBot {
                        username: format!("bot-{i}"),
                        permissions: vec!["machines:get:*".into()],
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())
            });
        }
        while let Some(done) = writes.join_next().await {
            done.unwrap().unwrap();
        }
    });

    let ok = audit(&b, &a, &["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("intact: 31 entries"),
        "bootstrap + 30 bot creations, on one chain: {}",
        text(&ok.stdout)
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&audit(&a, &a, &["list", "--last", "3", "-o", "json"]).stdout)
            .unwrap();
    let seqs: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [29, 30, 31]);

    // Someone with database access rewrites entry 7's details.
    let out = Command::new("psql")
        .arg(&db.url)
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-c")
        .arg("UPDATE audit SET details = '{\"username\": \"nobody\"}' WHERE seq = 7")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let broken = audit(&a, &a, &["verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken.stdout));
    let err = text(&broken.stderr);
    assert!(
        err.contains("broken at entry 7")
            && err.contains("does not match")
            && err.contains("6 entries before it match"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&audit(&b, &a, &["verify", "-o", "json"]).stdout).unwrap();
    assert_eq!(
        (json["ok"].as_bool(), json["seq"].as_i64()),
        (Some(false), Some(7)),
        "{json}"
    );
    assert_eq!(json["entry"]["details"]["username"], "nobody", "{json}");
}
