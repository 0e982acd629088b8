//! The tamper-evident audit log (SPEC §6) with the real binaries: two
//! replicas on one PostgreSQL database write the same org's chain at once and
//! never fork it; `sigil audit verify` says it is intact, and after a row is
//! changed directly in the database, names that row and exits 1. And anyone
//! can check a chain without Sigil: an exported log is recomputed with an
//! independent RFC 8785 implementation (the `rfc8785` package from PyPI).

use sigil_e2e::cli::clean_sigil;
use sigil_e2e::{replicas, rt, workspace, TestServer};
use sigil_proto::api::{CreateBot, IssueToken, LeakReport};
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

/// Recomputes an exported chain (a JSON list of entries, in chain order) with
/// RFC 8785 as `docs/audit.md` gives it; prints the head, exits 1 at the
/// first entry that does not match.
const JCS_CHECK: &str = r#"
import hashlib, json, sys, datetime, rfc8785
entries = json.load(open(sys.argv[1]))
prev = "0" * 64
for e in entries:
    assert e["chain_version"] == 2, e
    covered = {
        "action": e["action"], "actor_id": e["actor_id"], "actor_name": e["actor"],
        "client_ip": e["client_ip"],
        "created_at": int(datetime.datetime.fromisoformat(e["created_at"]).timestamp()),
        "details": e["details"], "id": e["id"], "org_id": e["org_id"], "seq": e["seq"],
        "target_id": e["target_id"], "target_type": e["target_type"],
    }
    h = hashlib.sha256(prev.encode() + rfc8785.dumps(covered)).hexdigest()
    if h != e["hash"]:
        print(f"entry {e['seq']} does not match", file=sys.stderr)
        sys.exit(1)
    prev = h
print(prev)
"#;

#[test]
fn an_exported_chain_verifies_with_an_independent_jcs_implementation() {
    let python = workspace().join(".tools/py/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    let srv = TestServer::start();
    let client = srv.client();
    // Entries whose texts need JCS's escaping and key order: non-ASCII,
    // astral characters, control characters, quotes.
    rt().block_on(async {
        client
            .create_bot(
                "default",
                &CreateBot {
                    username: "jcs".into(),
                    permissions: vec!["machines:get:*".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let issued = client
            .issue_token(
                "default",
                &IssueToken {
                    owner: "jcs".into(),
                    label: Some("déploiement ☃ 😀 \"quoted\" \\ back".into()),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        client
            .report_leak(&LeakReport {
                tokens: vec![issued.token.clone()],
                source: Some("Zürich\tpaste € 𝄞 \u{7f}".into()),
            })
            .await
            .unwrap();
        for _ in 0..200 {
            let t = client
                .get_token("default", issued.metadata.id)
                .await
                .unwrap();
            if t.revoked_at.is_some() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the leaked token was not revoked within 5 s");
    });
    let v = rt()
        .block_on(client.verify_audit("default", &Default::default()))
        .unwrap();
    assert!(v.ok && v.entries >= 4, "{v:?}");
    let entries = rt().block_on(client.list_all_audit("default")).unwrap();
    assert!(
        entries.iter().any(|e| e.action == "token.leaked"),
        "{entries:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("chain.json");
    let check = |entries: &serde_json::Value| {
        std::fs::write(&export, entries.to_string()).unwrap();
        Command::new(&python)
            .args(["-c", JCS_CHECK])
            .arg(&export)
            .output()
            .unwrap()
    };
    let mut json = serde_json::to_value(&entries).unwrap();
    let out = check(&json);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), v.head.as_deref().unwrap());

    // The checker is no rubber stamp: one changed letter and it refuses.
    json[1]["details"]["username"] = "jcz".into();
    let out = check(&json);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("entry 2 does not match"));
}
