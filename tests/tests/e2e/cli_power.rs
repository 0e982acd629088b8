//! The real `sigil` CLI against a real server for SPEC §6's token powers:
//! address binding and usage limits (`--cidr`, `--max-uses`), derived tokens
//! (`tokens attenuate`, the chain in `whoami` and `tokens view`, escalation
//! refused with the server's words), leak reports (`tokens report-leak` from
//! stdin, anonymous, answering only a count) and the status filters of
//! `tokens list` (`--status`, `--expiring-within`, `--parent`).
//!
//! Every run is checked as in `cli.rs`: no JWT on stderr, and none on stdout
//! except from the two commands that mint one (`issue`, `attenuate`). Every
//! body runs on SQLite and on PostgreSQL (`both!`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigil_e2e::cli::{str_of, Sigil};
use sigil_e2e::{both, within, TestServer};
use std::time::Duration;

/// A bot that may read machines and view tokens.
fn bot(s: &Sigil, name: &str) {
    s.ok(&[
        "bots",
        "create",
        name,
        "--permission",
        "machines:get,list:*",
        "--permission",
        "tokens:get,list:*",
    ]);
}

both!(issue_binds_to_networks_and_counts_uses);
fn issue_binds_to_networks_and_counts_uses(srv: &TestServer) {
    let s = Sigil::new(srv);
    bot(&s, "steve");

    // Local checks, the server's words, before anything is sent (exit 2).
    let err = s.fails(
        2,
        &["tokens", "issue", "-u", "steve", "--cidr", "10.0.0.1/8"],
    );
    assert!(
        err.contains("--cidr") && err.contains("allowed_cidrs") && err.contains("10.0.0.0/8"),
        "{err}"
    );
    let err = s.fails(2, &["tokens", "issue", "-u", "steve", "--cidr", "intranet"]);
    assert!(
        err.contains("is not an IPv4 or IPv6 network such as"),
        "{err}"
    );
    let err = s.fails(2, &["tokens", "issue", "-u", "steve", "--max-uses", "0"]);
    assert!(err.contains("max_uses must be from 1 to 1000000"), "{err}");

    // Bound to loopback (where the CLI calls from) and an IPv6 network, five uses.
    let issued = s.json(&[
        "tokens",
        "issue",
        "-u",
        "steve",
        "-e",
        "1d",
        "-l",
        "bound",
        "--cidr",
        "127.0.0.0/8",
        "--cidr",
        "2001:db8::/32",
        "--max-uses",
        "5",
    ]);
    let id = str_of(&issued["id"]);
    let jwt = str_of(&issued["token"]);
    assert_eq!(
        issued["allowed_cidrs"],
        serde_json::json!(["127.0.0.0/8", "2001:db8::/32"])
    );
    assert_eq!(issued["max_uses"], 5);
    assert_eq!(issued["uses"], 0);

    // Used once from loopback: allowed, and counted.
    s.ok_with(s.with(&jwt), &["whoami"]);
    let v = s.view(&id);
    assert_eq!(v["uses"], 1, "{v}");
    assert_eq!(v["status"], "active");
    let table = s.ok(&["tokens", "view", "bound"]);
    for want in ["127.0.0.0/8", "2001:db8::/32", "1/5", "active"] {
        assert!(table.contains(want), "{want} missing:\n{table}");
    }

    // Bound elsewhere: refused from here with the server's reason.
    let (_, far) = s.issue(&["-u", "steve", "-e", "1d", "--cidr", "10.0.0.0/8"]);
    let err = s.fails_with(s.with(&far), 1, &["whoami"]);
    assert!(
        err.contains("address_not_allowed") && err.contains("HTTP 401"),
        "{err}"
    );

    // One use: the first call is the last, the second is refused (exhausted),
    // and the lists know it.
    let (once_id, once) = s.issue(&["-u", "steve", "-e", "1d", "--max-uses", "1"]);
    let me = s.json_with(s.with(&once), &["whoami"]);
    assert_eq!(me["token_id"], once_id.as_str());
    let err = s.fails_with(s.with(&once), 1, &["whoami"]);
    assert!(err.contains("exhausted"), "{err}");
    let v = s.view(&once_id);
    assert_eq!((&v["status"], &v["uses"]), (&"exhausted".into(), &1.into()));
    assert_eq!(s.listed(&["--status", "exhausted"]), [once_id.as_str()]);
    let table = s.ok(&[
        "tokens",
        "list",
        "--status",
        "exhausted",
        "-c",
        "id,status,uses",
    ]);
    assert!(
        table.lines().next().unwrap().contains("USES")
            && table
                .lines()
                .any(|l| l.contains(&once_id) && l.contains("exhausted") && l.contains("1/1")),
        "{table}"
    );
}

both!(attenuate_narrows_and_shows_the_chain);
fn attenuate_narrows_and_shows_the_chain(srv: &TestServer) {
    let s = Sigil::new(srv);
    bot(&s, "steve");
    let (parent_id, parent) = s.issue(&["-u", "steve", "-e", "1d", "-l", "parent"]);

    // Table mode: the JWT alone on stdout; what, from which parent, and the
    // warning on stderr.
    let out = s.exec(
        s.with(&parent),
        &[
            "tokens",
            "attenuate",
            "--claim",
            "machines:get:*",
            "--claim",
            "tokens:get:*",
            "-e",
            "1h",
            "-l",
            "child",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let child = out.stdout.trim().to_string();
    assert_eq!(
        out.stdout,
        format!("{child}\n"),
        "stdout must be the JWT alone"
    );
    assert_eq!(child.split('.').count(), 3);
    assert!(
        out.stderr.contains(&format!("parent: {parent_id}"))
            && out.stderr.contains("cannot be shown again"),
        "{}",
        out.stderr
    );

    // The child as the server knows it.
    let me = s.json_with(s.with(&child), &["whoami"]);
    let child_id = str_of(&me["token_id"]);
    assert_eq!(me["parent_id"], parent_id.as_str());
    assert_eq!(me["name"], "steve");
    let v = s.view(&child_id);
    assert_eq!(v["parent_id"], parent_id.as_str());
    assert_eq!(v["label"], "child");
    assert_eq!(
        v["claims"],
        serde_json::json!(["machines:get:*", "tokens:get:*"])
    );
    let view = s.ok(&["tokens", "view", &child_id]);
    assert!(view.contains(&parent_id), "{view}");
    assert_eq!(s.listed(&["--parent", &parent_id]), [child_id.as_str()]);
    assert_eq!(s.listed(&["--parent", "parent"]), [child_id.as_str()]);

    // -o json: the IssuedToken, with its parent.
    let grand = s.attenuate(
        &child,
        &["--claim", "tokens:get:*", "-e", "30m", "-l", "grand"],
    );
    assert_eq!(grand["parent_id"], child_id.as_str());
    let grand_jwt = str_of(&grand["token"]);

    // whoami walks up the chain (the grandchild may view tokens).
    let who = s.ok_with(s.with(&grand_jwt), &["whoami"]);
    let parent_line = who
        .lines()
        .position(|l| l.starts_with("Parent"))
        .unwrap_or_else(|| panic!("no Parent in whoami:\n{who}"));
    let lines: Vec<&str> = who.lines().collect();
    assert!(
        lines[parent_line].contains(&child_id) && lines[parent_line].contains("\"child\""),
        "{who}"
    );
    assert!(
        lines[parent_line + 1].contains(&parent_id)
            && lines[parent_line + 1].contains("\"parent\""),
        "{who}"
    );
    // A token issued directly has no parent line.
    assert!(!s.ok_with(s.with(&parent), &["whoami"]).contains("Parent"));

    // Revoking the parent revokes its descendants, and says why.
    s.ok(&["tokens", "revoke", &parent_id, "--yes"]);
    let err = s.fails_with(s.with(&grand_jwt), 1, &["whoami"]);
    assert!(err.contains("revoked"), "{err}");
    let v = s.view(&child_id);
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoked_reason"], "parent revoked");
    let table = s.ok(&[
        "tokens",
        "list",
        "--status",
        "revoked",
        "-c",
        "id,status,parent",
    ]);
    assert!(
        table
            .lines()
            .any(|l| l.contains(&child_id) && l.contains("revoked (parent revoked)")),
        "{table}"
    );
}

both!(escalation_is_refused_with_the_servers_message);
fn escalation_is_refused_with_the_servers_message(srv: &TestServer) {
    let s = Sigil::new(srv);
    bot(&s, "steve");
    let (_, parent) = s.issue(&[
        "-u",
        "steve",
        "-e",
        "2h",
        "--claim",
        "machines:get:*",
        "--cidr",
        "127.0.0.0/8",
        "--max-uses",
        "50",
    ]);
    for (what, args) in [
        ("a claim beyond", vec!["--claim", "machines:get,list:*"]),
        ("a later expiry", vec!["-e", "30d"]),
        ("a wider network", vec!["--cidr", "0.0.0.0/0"]),
        ("more uses", vec!["--max-uses", "1000"]),
    ] {
        let mut all = vec!["tokens", "attenuate"];
        all.extend(args);
        let err = s.fails_with(s.with(&parent), 1, &all);
        assert!(
            err.contains("code escalation") && err.contains("HTTP 403"),
            "{what}: {err}"
        );
    }
    // Bad flags never reach the server: exit 2.
    let err = s.fails_with(
        s.with(&parent),
        2,
        &["tokens", "attenuate", "--max-uses", "0"],
    );
    assert!(err.contains("max_uses"), "{err}");
    let err = s.fails_with(
        s.with(&parent),
        2,
        &["tokens", "attenuate", "--cidr", "300.1.1.1"],
    );
    assert!(err.contains("allowed_cidrs"), "{err}");
    // Without a token there is no parent: a usage error.
    let err = s.fails_with(s.anonymous(), 2, &["tokens", "attenuate", "-e", "1h"]);
    assert!(err.contains("no token"), "{err}");
}

both!(report_leak_revokes_and_answers_only_a_count);
fn report_leak_revokes_and_answers_only_a_count(srv: &TestServer) {
    let s = Sigil::new(srv);
    bot(&s, "steve");
    let (id, jwt) = s.issue(&["-u", "steve", "-e", "1d", "-l", "leaky"]);
    let (other_id, _) = s.issue(&["-u", "steve", "-e", "1d"]);

    // Anonymous (no token in the environment), a live token among garbage and
    // blank lines: the answer is the count, as for garbage alone.
    let input = format!("\nnot-a-token\n  {jwt}  \n\neyJhbGciOiJFZERTQSJ9.e30.c2ln\n");
    let out = s.exec(
        s.anonymous(),
        &[
            "tokens",
            "report-leak",
            "--source",
            "https://paste.example/abc",
        ],
        Some(&input),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "received 3\n");
    assert!(
        !out.stderr.contains("not-a-token") && !out.stderr.contains("leaky"),
        "{}",
        out.stderr
    );
    let garbage = s.exec(
        s.anonymous(),
        &[
            "tokens",
            "report-leak",
            "--source",
            "https://paste.example/abc",
        ],
        Some("one\ntwo\nthree\n"),
    );
    assert_eq!((garbage.code, &garbage.stdout), (0, &out.stdout));
    assert_eq!(garbage.stderr, out.stderr);

    // The leaked token dies (the server may revoke after answering), the other lives.
    let v = within(Duration::from_secs(10), "the leaked token revoked", || {
        let v = s.view(&id);
        (v["status"] == "revoked").then_some(v)
    });
    assert_eq!(v["revoked_reason"], "leaked");
    let err = s.fails_with(s.with(&jwt), 1, &["whoami"]);
    assert!(err.contains("revoked"), "{err}");
    assert_eq!(s.view(&other_id)["status"], "active");
    let table = s.ok(&["tokens", "list", "--status", "revoked"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains(&id) && l.contains("revoked (leaked)")),
        "{table}"
    );

    // A caller's own (even bogus) token is not sent along: the report is anonymous.
    let out = s.exec(
        s.with("not.a.jwt"),
        &["tokens", "report-leak", "-o", "json"],
        Some("x\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"received": 1}));

    // More than 1000 lines go in several requests.
    let many: String = (0..1500).map(|i| format!("junk-{i}\n")).collect();
    let out = s.exec(s.anonymous(), &["tokens", "report-leak"], Some(&many));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "received 1500\n"),
        "{out:?}"
    );

    // Nothing on stdin: a usage error.
    let out = s.exec(s.anonymous(), &["tokens", "report-leak"], Some("\n \n"));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no tokens"), "{}", out.stderr);
}

both!(list_filters_by_status_and_expiry_window);
fn list_filters_by_status_and_expiry_window(srv: &TestServer) {
    let s = Sigil::new(srv);
    bot(&s, "steve");
    let (long_id, _) = s.issue(&["-u", "steve", "-e", "30d", "-l", "long"]);
    let (soon_id, _) = s.issue(&["-u", "steve", "-e", "3d", "-l", "soon"]);
    let (gone_id, _) = s.issue(&["-u", "steve", "-e", "30d", "-l", "gone"]);
    s.ok(&["tokens", "revoke", &gone_id, "--reason", "rotated", "--yes"]);

    assert_eq!(
        s.listed(&["-u", "steve", "--status", "revoked"]),
        [gone_id.as_str()]
    );
    let mut both = s.listed(&["-u", "steve", "--status", "active"]);
    both.sort();
    let mut want = vec![long_id.clone(), soon_id.clone()];
    want.sort();
    assert_eq!(both, want);
    let mut all = s.listed(&["-u", "steve", "--status", "active,revoked"]);
    all.sort();
    let mut want = vec![long_id.clone(), soon_id.clone(), gone_id.clone()];
    want.sort();
    assert_eq!(all, want);
    assert_eq!(
        s.listed(&["-u", "steve", "--expiring-within", "7d"]),
        [soon_id.as_str()]
    );
    assert!(s
        .listed(&["-u", "steve", "--expiring-within", "1h"])
        .is_empty());

    // The table: STATUS with the reason (in a pipe nothing is cut).
    let table = s.ok(&["tokens", "list", "--status", "revoked"]);
    assert!(table.lines().next().unwrap().contains("STATUS"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains(&gone_id) && l.contains("revoked (rotated)")),
        "{table}"
    );
    let table = s.ok(&["tokens", "list", "-c", "id,status,uses,parent"]);
    let header = table.lines().next().unwrap();
    for col in ["ID", "STATUS", "USES", "PARENT"] {
        assert!(header.contains(col), "{header}");
    }

    // Bad filters never reach the server: exit 2, naming what is accepted.
    let err = s.fails(2, &["tokens", "list", "--status", "dead"]);
    assert!(
        err.contains("status must be one of active, expired, revoked, exhausted"),
        "{err}"
    );
    let err = s.fails(2, &["tokens", "list", "--expiring-within", "soon"]);
    assert!(
        err.contains("--expiring-within") && err.contains("14d"),
        "{err}"
    );

    // A token that expires stays viewable, and is listed as expired.
    let (brief_id, _) = s.issue(&["-u", "steve", "-e", "1s", "-l", "brief"]);
    within(
        Duration::from_secs(10),
        "the 1s token listed as expired",
        || {
            s.listed(&["-u", "steve", "--status", "expired"])
                .contains(&brief_id)
                .then_some(())
        },
    );
    assert_eq!(s.view(&brief_id)["status"], "expired");
    assert!(!s.listed(&["-u", "steve"]).contains(&brief_id));
}
