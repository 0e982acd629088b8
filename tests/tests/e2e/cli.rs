//! The real `sigil` CLI against a real server process: every command's happy
//! path and main errors, JSON parsed and checked, exit codes (1 for a failed
//! operation, 2 for a usage error), the issue wizard and the confirmations
//! answered through a pseudo-terminal, and the rule that a JWT never reaches
//! stderr or a table (only `tokens issue` and `users token` print one).

// Helpers outside `#[test]` functions panic on purpose too: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigil_e2e::cli::{clean_sigil, leaks_jwt, Sigil};
use sigil_e2e::TestServer;
use std::process::Stdio;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn rfc3339(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        v.as_str().unwrap_or_else(|| panic!("not a string: {v}")),
        &Rfc3339,
    )
    .unwrap_or_else(|e| panic!("not RFC 3339: {v}: {e}"))
}

fn days_from_now(t: OffsetDateTime) -> f64 {
    (t - OffsetDateTime::now_utc()).as_seconds_f64() / 86_400.0
}

#[test]
fn sym_walkthrough_create_issue_list_revoke() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    // Create the bot.
    let out = s.run(&[
        "bots",
        "create",
        "steve",
        "--description",
        "CI bot",
        "--permission",
        "machines:get,list:*",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("Created bot steve"), "{}", out.stderr);
    assert!(out.stdout.contains("machines:get,list:*"), "{}", out.stdout);

    // Issue a 100-day token with a label: the JWT alone on stdout, the warning on stderr.
    let out = s.run(&["tokens", "issue", "-u", "steve", "-e", "100d", "-l", "ci"]);
    assert_eq!(out.code, 0, "{out:?}");
    let jwt = out.stdout.trim().to_string();
    assert_eq!(
        out.stdout,
        format!("{jwt}\n"),
        "stdout must be the JWT and nothing else"
    );
    assert_eq!(jwt.split('.').count(), 3, "not a JWT: {jwt}");
    assert!(
        out.stderr.contains("cannot be shown again"),
        "{}",
        out.stderr
    );

    // The token works: the CLI with --token speaks as the bot.
    let me: Value = {
        let mut cmd = s.cmd();
        cmd.env_remove("SIGIL_TOKEN");
        let out = s.run_cmd(cmd, &["whoami", "-o", "json", "--token", &jwt]);
        assert_eq!(out.code, 0, "{out:?}");
        serde_json::from_str(&out.stdout).unwrap()
    };
    assert_eq!(me["name"], "steve");
    assert_eq!(me["kind"], "bot");
    assert_eq!(me["claims"], serde_json::json!(["machines:get,list:*"]));
    let id = me["token_id"].as_str().unwrap().to_string();

    // List: the table shows it, without the JWT; JSON has RFC 3339 times.
    let table = s.ok(&["tokens", "list"]);
    let header = table.lines().next().unwrap();
    for col in [
        "ID",
        "USER",
        "EXPIRES AT",
        "LABEL",
        "SCOPES",
        "ALLOW LIST",
        "LAST USED",
    ] {
        assert!(header.contains(col), "missing column {col}: {header}");
    }
    let row = table
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("{id} not listed:\n{table}"));
    assert!(
        row.contains("steve") && row.contains(" ci ") && row.contains("in 100d"),
        "{row}"
    );
    assert!(
        row.contains("machines:get,list") && row.contains("machines:*"),
        "{row}"
    );
    let list = s.json(&["tokens", "list", "-u", "steve"]);
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let t = &items[0];
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["label"], "ci");
    assert_eq!(t["owner"], "steve");
    assert_eq!(t["status"], "active");
    assert!(t.get("token").is_none(), "a list must never carry the JWT");
    let d = days_from_now(rfc3339(&t["expires_at"]));
    assert!((99.9..=100.0).contains(&d), "expires in {d} days");
    rfc3339(&t["created_at"]);

    // View by id and by label.
    assert_eq!(s.json(&["tokens", "view", &id])["label"], "ci");
    let view = s.ok(&["tokens", "view", "ci"]);
    assert!(view.contains(&id) && view.contains("active"), "{view}");

    // Update: relabel, shorten; extending is the server's refusal.
    let v = s.json(&["tokens", "update", &id, "--label", "ci-main"]);
    assert_eq!(v["label"], "ci-main");
    let v = s.json(&["tokens", "update", "ci-main", "--expiry", "50d"]);
    let d = days_from_now(rfc3339(&v["expires_at"]));
    assert!((49.9..=50.0).contains(&d), "expires in {d} days");
    let err = s.fails(1, &["tokens", "update", &id, "--expiry", "200d"]);
    assert!(err.contains("expiry_extension"), "{err}");
    s.fails(2, &["tokens", "update", &id]);
    s.fails(2, &["tokens", "update", &id, "--expiry", "later"]);
    s.json(&["tokens", "update", &id, "--label", "ci"]);

    // Revoke, with a reason; without a terminal and --yes it refuses (exit 2).
    let err = s.fails(2, &["tokens", "revoke", &id]);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(s.json(&["tokens", "view", &id])["status"], "active");
    let out = s.ok(&["tokens", "revoke", &id, "--reason", "walkthrough", "--yes"]);
    assert!(out.contains("Revoked token"), "{out}");
    let v = s.json(&["tokens", "view", &id]);
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoke_reason"], "walkthrough");
    rfc3339(&v["revoked_at"]);

    // The revoked token is refused by the CLI: exit 1, the server's message and code.
    let mut cmd = s.cmd();
    cmd.env("SIGIL_TOKEN", &jwt);
    let out = s.run_cmd(cmd, &["whoami"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("unauthenticated") && out.stderr.contains("revoked"),
        "{}",
        out.stderr
    );

    // Gone from the default list, there with --include-revoked and a STATUS column.
    assert!(!s.ok(&["tokens", "list"]).contains(&id));
    let table = s.ok(&["tokens", "list", "--include-revoked"]);
    assert!(table.lines().next().unwrap().contains("STATUS"));
    assert!(
        table
            .lines()
            .any(|l| l.contains(&id) && l.contains("revoked")),
        "{table}"
    );
    // Revoking again is fine (idempotent), and says so, with when; no
    // confirmation is needed for it.
    let out = s.ok(&["tokens", "revoke", &id]);
    assert!(
        out.contains(&format!("Token {id}")) && out.contains("already revoked at"),
        "{out}"
    );
}

#[test]
fn bots_commands_and_their_errors() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    let bot = s.json(&[
        "bots",
        "create",
        "deployer",
        "-d",
        "Deploys prod",
        "-p",
        "machines:get:*",
        "-p",
        "apps:get,list:*",
        "--identity",
        "github=deploy-bot",
    ]);
    assert_eq!(bot["username"], "deployer");
    assert_eq!(bot["description"], "Deploys prod");
    assert_eq!(
        bot["permissions"],
        serde_json::json!(["machines:get:*", "apps:get,list:*"])
    );
    assert_eq!(bot["identities"]["github"], "deploy-bot");
    rfc3339(&bot["created_at"]);
    s.ok(&["bots", "create", "steve"]);

    // Errors: a taken name is the server's conflict (exit 1); a bad name,
    // a bad claim or a bad identity never leave the CLI (exit 2).
    let err = s.fails(1, &["bots", "create", "steve"]);
    assert!(err.contains("conflict"), "{err}");
    let err = s.fails(2, &["bots", "create", "Steve!"]);
    assert!(err.contains("[a-z0-9][a-z0-9._-]{0,62}"), "{err}");
    let err = s.fails(2, &["bots", "create", "x", "--permission", "machines:get"]);
    assert!(err.contains("scope:action:specific"), "{err}");
    let err = s.fails(2, &["bots", "create", "x", "--identity", "slack"]);
    assert!(err.contains("SERVICE=ID"), "{err}");
    let err = s.fails(1, &["bots", "view", "nobody"]);
    assert!(err.contains("not_found"), "{err}");

    // List: table and JSON.
    let table = s.ok(&["bots", "list"]);
    let header = table.lines().next().unwrap();
    for col in ["USERNAME", "TOKENS", "CREATED", "DESCRIPTION"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("deployer") && l.contains("Deploys prod")),
        "{table}"
    );
    let names: Vec<String> = s
        .json(&["bots", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"steve".to_string()) && names.contains(&"deployer".to_string()));

    // Identities, one service at a time.
    let v = s.json(&[
        "bots",
        "update-identity",
        "steve",
        "--service",
        "slack",
        "--id",
        "U024BE7LH",
    ]);
    assert_eq!(v["identities"]["slack"], "U024BE7LH");
    let v = s.json(&[
        "bots",
        "update-identity",
        "steve",
        "--service",
        "slack",
        "--id",
        "U999",
    ]);
    assert_eq!(v["identities"]["slack"], "U999");
    let view = s.ok(&["bots", "view", "steve"]);
    assert!(view.contains("slack: U999"), "{view}");
    let err = s.fails(2, &["bots", "update-identity", "steve"]);
    assert!(err.contains("--service"), "{err}");
    let err = s.fails(2, &["bots", "update-identity", "steve", "--service", "aws"]);
    assert!(err.contains("--id"), "{err}");
    let err = s.fails(2, &["bots", "delete-identity", "steve"]);
    assert!(err.contains("--service"), "{err}");
    let v = s.json(&[
        "bots",
        "delete-identity",
        "steve",
        "--service",
        "slack",
        "--yes",
    ]);
    assert!(v["identities"].get("slack").is_none(), "{v}");

    // Update: description and permissions.
    let v = s.json(&[
        "bots",
        "update",
        "steve",
        "-d",
        "now described",
        "-p",
        "machines:list:*",
    ]);
    assert_eq!(v["description"], "now described");
    assert_eq!(v["permissions"], serde_json::json!(["machines:list:*"]));
    s.fails(2, &["bots", "update", "steve"]);

    // Delete: refused without a terminal or --yes, then done.
    let err = s.fails(2, &["bots", "delete", "steve"]);
    assert!(err.contains("--yes"), "{err}");
    s.ok(&["bots", "view", "steve"]);
    let v = s.json(&["bots", "delete", "steve", "--yes"]);
    assert_eq!(v["deleted"], true);
    s.fails(1, &["bots", "view", "steve"]);
    s.fails(1, &["bots", "delete", "steve", "--yes"]);
}

#[test]
fn bots_delete_revokes_every_token_of_the_bot() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);
    s.ok(&["bots", "create", "steve", "-p", "machines:*:*"]);
    s.ok(&["bots", "create", "other", "-p", "machines:*:*"]);
    let (id1, jwt1) = s.issue(&["-u", "steve", "-e", "1d"]);
    let (id2, jwt2) = s.issue(&["-u", "steve", "-e", "2d", "-l", "second"]);
    let (id3, jwt3) = s.issue(&["-u", "other", "-e", "1d"]);
    assert_eq!(s.json(&["bots", "view", "steve"])["token_count"], 2);

    let out = s.ok(&["bots", "delete", "steve", "--yes"]);
    assert!(out.contains("2 live tokens were revoked"), "{out}");

    for (id, jwt) in [(&id1, &jwt1), (&id2, &jwt2)] {
        assert_eq!(s.json(&["tokens", "view", id])["status"], "revoked");
        let mut cmd = s.cmd();
        cmd.env("SIGIL_TOKEN", jwt);
        let out = s.run_cmd(cmd, &["whoami"]);
        assert_eq!(out.code, 1, "a token of a deleted bot still works: {out:?}");
    }
    // The other bot's token is untouched.
    assert_eq!(s.json(&["tokens", "view", &id3])["status"], "active");
    let mut cmd = s.cmd();
    cmd.env("SIGIL_TOKEN", &jwt3);
    assert_eq!(s.run_cmd(cmd, &["whoami"]).code, 0);
}

#[test]
fn tokens_issue_claims_scopes_allow_lists_apps_and_errors() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);
    s.ok(&[
        "bots",
        "create",
        "steve",
        "-p",
        "machines:get,list:*",
        "-p",
        "bots:get:*",
    ]);
    let m1 = "48de76fd-c5c7-4b05-9f70-52af9a996d38";

    // Default claims: all of the owner's permissions.
    let v = s.json(&["tokens", "issue", "-u", "steve", "-e", "1h"]);
    assert_eq!(
        v["claims"],
        serde_json::json!(["machines:get,list:*", "bots:get:*"])
    );
    assert_eq!(v["scope"], "org");
    let d = days_from_now(rfc3339(&v["expires_at"])) * 24.0;
    assert!((0.9..=1.0).contains(&d), "expires in {d} hours");

    // --claim, --scope × --allow.
    let v = s.json(&[
        "tokens",
        "issue",
        "-u",
        "steve",
        "--claim",
        "machines:get:*",
    ]);
    assert_eq!(v["claims"], serde_json::json!(["machines:get:*"]));
    let allow = format!("machines:{m1}");
    let v = s.json(&[
        "tokens",
        "issue",
        "-u",
        "steve",
        "--scope",
        "machines:get",
        "--allow",
        &allow,
    ]);
    assert_eq!(
        v["claims"],
        serde_json::json!([format!("machines:get:{m1}")])
    );
    let v = s.json(&[
        "tokens", "issue", "-u", "steve", "--scope", "bots:get", "--allow", "*:*",
    ]);
    assert_eq!(v["claims"], serde_json::json!(["bots:get:*"]));
    let list = s.ok(&["tokens", "list", "-c", "id,scopes,allow-list"]);
    assert!(
        list.lines()
            .any(|l| l.contains("machines:get") && l.contains(&allow)),
        "{list}"
    );

    // Absolute expiry.
    let at = (OffsetDateTime::now_utc() + time::Duration::days(3))
        .replace_nanosecond(0)
        .unwrap();
    let at_s = at.format(&Rfc3339).unwrap();
    let v = s.json(&["tokens", "issue", "-u", "steve", "-e", &at_s]);
    assert_eq!(rfc3339(&v["expires_at"]), at);

    // Usage errors (exit 2), checked before anything is sent.
    let err = s.fails(
        2,
        &[
            "tokens",
            "issue",
            "-u",
            "steve",
            "--allow",
            "machines:not-a-uuid",
        ],
    );
    assert!(
        err.contains("invalid allow_list entry") && err.contains("TYPE:UUID, TYPE:* or *:*"),
        "{err}"
    );
    let err = s.fails(
        2,
        &[
            "tokens",
            "issue",
            "-u",
            "steve",
            "--allow",
            &format!("*:{m1}"),
        ],
    );
    assert!(err.contains("invalid allow_list entry"), "{err}");
    let err = s.fails(
        2,
        &[
            "tokens", "issue", "-u", "steve", "--scope", "bots:get", "--allow", &allow,
        ],
    );
    assert!(err.contains("matches no --allow"), "{err}");
    let err = s.fails(2, &["tokens", "issue", "-u", "steve", "-e", "10years"]);
    assert!(err.contains("100d") && err.contains("RFC 3339"), "{err}");
    let err = s.fails(
        2,
        &["tokens", "issue", "-u", "steve", "--claim", "machines"],
    );
    assert!(err.contains("scope:action:specific"), "{err}");
    // No flags at all and no terminal: nobody to ask (with flags, it is for the caller).
    let err = s.fails(2, &["tokens", "issue"]);
    assert!(
        err.contains("missing --username") && err.contains("no terminal"),
        "{err}"
    );
    s.fails(2, &["tokens", "issue", "-u", "steve", "--bogus"]);
    s.fails(2, &["tokens", "list", "-c", "id,bogus"]);
    s.fails(2, &["tokens", "list", "--scope", "everything"]);

    // Server refusals (exit 1) carry the server's message and code.
    let err = s.fails(
        1,
        &[
            "tokens",
            "issue",
            "-u",
            "steve",
            "--claim",
            "machines:delete:*",
        ],
    );
    assert!(err.contains("claims_exceed_owner"), "{err}");
    let err = s.fails(1, &["tokens", "issue", "-u", "nobody"]);
    assert!(err.contains("not_found"), "{err}");
    let err = s.fails(
        1,
        &["tokens", "view", "01960000-0000-7000-8000-000000000000"],
    );
    assert!(err.contains("not_found"), "{err}");
    let err = s.fails(1, &["tokens", "view", "no-such-label"]);
    assert!(err.contains("no-such-label"), "{err}");
    s.fails(
        1,
        &[
            "tokens",
            "revoke",
            "01960000-0000-7000-8000-000000000000",
            "--yes",
        ],
    );

    // App-scoped tokens and the list filters.
    let app = s.json(&["apps", "create", "web"]);
    assert_eq!(app["name"], "web");
    let v = s.json(&[
        "tokens", "issue", "-u", "steve", "--app", "web", "-e", "7d", "-l", "deploy",
    ]);
    assert_eq!(v["scope"], "app");
    assert_eq!(v["app"], "web");
    let app_id = v["id"].as_str().unwrap().to_string();
    let only_app = s.json(&["tokens", "list", "--scope", "app"]);
    assert_eq!(only_app.as_array().unwrap().len(), 1);
    assert_eq!(only_app[0]["id"], app_id.as_str());
    assert_eq!(
        s.json(&["tokens", "list", "--app", "web"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let org_scoped = s.json(&["tokens", "list", "--scope", "org"]);
    assert!(org_scoped
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["scope"] == "org"));
    let table = s.ok(&["tokens", "list", "--scope", "app"]);
    assert!(table.contains("app:web"), "{table}");

    // Revoke several at once, by id and by label.
    let (a, _) = s.issue(&["-u", "steve", "-l", "one"]);
    let (b, _) = s.issue(&["-u", "steve", "-l", "two"]);
    let v = s.json(&[
        "tokens", "revoke", &a, "two", "--yes", "--reason", "rotation",
    ]);
    let revoked: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(revoked, vec![a.as_str(), b.as_str()]);
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "revoked"));
}

#[test]
fn apps_orgs_keys_and_whoami() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    // whoami
    let me = s.json(&["whoami"]);
    assert_eq!(me["org"], "default");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["claims"], serde_json::json!(["*:*:*"]));
    rfc3339(&me["expires_at"]);
    let out = s.ok(&["whoami"]);
    assert!(
        out.contains("*:*:*") && out.contains(&srv.endpoint),
        "{out}"
    );

    // apps
    s.ok(&["apps", "create", "web"]);
    s.json(&["apps", "create", "billing"]);
    let err = s.fails(1, &["apps", "create", "web"]);
    assert!(err.contains("conflict"), "{err}");
    s.fails(2, &["apps", "create", "Web_App"]);
    let apps = s.json(&["apps", "list"]);
    let names: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{apps}");
    assert!(names.contains(&"web") && names.contains(&"billing"));
    let table = s.ok(&["apps", "list"]);
    assert!(
        table.starts_with("NAME") && table.contains("billing"),
        "{table}"
    );
    s.fails(2, &["apps", "delete", "web"]);
    s.ok(&["apps", "delete", "web", "--yes"]);
    assert_eq!(s.json(&["apps", "list"]).as_array().unwrap().len(), 1);
    s.fails(1, &["apps", "delete", "web", "--yes"]);

    // orgs, and --org to work in another one
    let org = s.json(&["orgs", "create", "acme", "--max-token-lifetime", "30d"]);
    assert_eq!(org["name"], "acme");
    assert_eq!(org["max_token_lifetime"], 30 * 86_400);
    s.fails(2, &["orgs", "create", "Acme Corp"]);
    s.fails(
        2,
        &["orgs", "create", "acme2", "--max-token-lifetime", "forever"],
    );
    s.fails(1, &["orgs", "create", "acme"]);
    let orgs = s.json(&["orgs", "list"]);
    assert!(orgs.as_array().unwrap().iter().any(|o| o["name"] == "acme"));
    assert!(s.ok(&["orgs", "list"]).contains("acme"));
    s.ok(&["bots", "create", "robot", "--org", "acme", "-p", "x:y:*"]);
    let mut cmd = s.cmd();
    cmd.env("SIGIL_ORG", "acme");
    assert!(s.run_cmd(cmd, &["bots", "list"]).stdout.contains("robot"));
    assert!(
        !s.ok(&["bots", "list"]).contains("robot"),
        "the default org must not see acme's bots"
    );
    let err = s.fails(
        1,
        &[
            "tokens", "issue", "--org", "acme", "-u", "robot", "-e", "60d",
        ],
    );
    assert!(err.contains("lifetime_exceeded"), "{err}");

    // keys rotate: a new kid; tokens signed before keep working.
    s.ok(&["bots", "create", "steve", "-p", "machines:get:*"]);
    let (_, jwt) = s.issue(&["-u", "steve", "-e", "1d"]);
    let k1 = s.json(&["keys", "rotate"]);
    let k2 = s.json(&["keys", "rotate"]);
    assert!(k1["kid"].is_string() && k1["kid"] != k2["kid"], "{k1} {k2}");
    rfc3339(&k1["created_at"]);
    let mut cmd = s.cmd();
    cmd.env("SIGIL_TOKEN", &jwt);
    assert_eq!(s.run_cmd(cmd, &["whoami"]).code, 0);
    // A bot without `keys` rights is refused, with the server's code.
    let mut cmd = s.cmd();
    cmd.env("SIGIL_TOKEN", &jwt);
    let out = s.run_cmd(cmd, &["keys", "rotate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("forbidden"), "{}", out.stderr);
}

/// A JWT pasted where a name, an id or a label belongs: never echoed on
/// stderr, and `tokens view/revoke` act on the token it names (its `jti`).
#[test]
fn a_jwt_given_as_an_argument_is_never_echoed() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);
    s.ok(&["bots", "create", "leaky", "--permission", "machines:get:*"]);
    let (id, jwt) = s.issue(&["-u", "leaky", "-e", "1d", "-l", "leaked"]);
    assert!(jwt.starts_with("eyJ"), "{jwt}");

    // Every error that would echo the argument prints it redacted (and the
    // invariant in `run_cmd` refuses any other `eyJ` on stderr).
    for args in [
        vec!["bots", "view", &jwt],
        vec!["tokens", "issue", "-u", &jwt, "-e", "1d"],
        vec!["tokens", "list", "-u", &jwt],
        vec!["bots", "list", "--org", &jwt],
        vec!["tokens", "view", "--org", &jwt, &id],
    ] {
        let out = s.run(&args);
        assert_ne!(out.code, 0, "{args:?}: {out:?}");
        assert!(!out.stderr.contains(&jwt[..20]), "{args:?}: {}", out.stderr);
    }
    let out = s.run(&["bots", "view", &jwt]);
    assert!(out.stderr.contains("eyJ…<redacted>"), "{}", out.stderr);

    // view and revoke read the token id out of a pasted JWT.
    assert_eq!(s.json(&["tokens", "view", &jwt])["id"], id.as_str());
    let out = s.ok(&["tokens", "revoke", &format!("{jwt}\n"), "--yes"]);
    assert!(out.contains(&id) && out.contains("Revoked"), "{out}");
    assert_eq!(s.json(&["tokens", "view", &id])["status"], "revoked");
    let out = s.ok(&["tokens", "revoke", &jwt]);
    assert!(out.contains("already revoked at"), "{out}");

    // A token with a newline inside: a usage error about the token itself,
    // not an unreachable server.
    let mut cmd = s.cmd();
    cmd.env_remove("SIGIL_TOKEN");
    let bad = format!("{}\n{}", &jwt[..30], &jwt[30..]);
    let out = s.run_cmd(cmd, &["whoami", "--token", &bad]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("invalid characters") && !out.stderr.contains("cannot reach"),
        "{}",
        out.stderr
    );
}

#[test]
fn login_stores_a_private_file_that_later_commands_use() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    // Nothing configured: a usage error that says what to do.
    let out = s.run_cmd(s.bare(), &["bots", "list"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("sigil login"), "{}", out.stderr);

    // Login with flags; the token is checked first.
    let bad = s.run_cmd(
        s.bare(),
        &["login", "--endpoint", &srv.endpoint, "--token", "nope"],
    );
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(!s.login_file().exists());
    let out = s.run_cmd(
        s.bare(),
        &[
            "login",
            "--endpoint",
            &srv.endpoint,
            "--token",
            srv.owner_token.expose(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Logged in"), "{}", out.stdout);
    let path = s.login_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the login file must be private");
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored["endpoint"], srv.endpoint.as_str());
    assert_eq!(stored["org"], "default");

    // Later commands use it when flags and environment are absent.
    let out = s.run_cmd(s.bare(), &["whoami", "-o", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let me: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(me["kind"], "user");
    // A flag wins over the file, and the stored token is never sent to another endpoint.
    let out = s.run_cmd(s.bare(), &["whoami", "--token", "nope"]);
    assert_eq!(out.code, 1, "{out:?}");
    let out = s.run_cmd(s.bare(), &["whoami", "--endpoint", "http://127.0.0.1:9"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("the stored login is for"),
        "{}",
        out.stderr
    );

    // The environment wins over the file: token, org and endpoint.
    let mut cmd = s.bare();
    cmd.env("SIGIL_TOKEN", "nope");
    assert_eq!(s.run_cmd(cmd, &["whoami"]).code, 1);
    let mut cmd = s.bare();
    cmd.env("SIGIL_ORG", "elsewhere");
    let out = s.run_cmd(cmd, &["bots", "list"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("elsewhere"), "{}", out.stderr);
    let mut cmd = s.bare();
    cmd.env("SIGIL_ENDPOINT", "http://127.0.0.1:9");
    let out = s.run_cmd(cmd, &["whoami"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "the stored login is for {}, not http://127.0.0.1:9",
            srv.endpoint
        )),
        "{}",
        out.stderr
    );

    // Without a terminal and without --with-token, login does not wait on
    // stdin (held open here, as `sleep 30 | sigil login` would): exit 2 at once.
    let mut cmd = s.bare();
    cmd.args(["login", "--endpoint", &srv.endpoint])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _held_open = child.stdin.take().unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("sigil login waited on an open, empty stdin");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("--with-token"), "{stderr}");

    // With --with-token the token comes on stdin; then logout forgets it.
    let mut cmd = s.bare();
    cmd.args(["login", "--endpoint", &srv.endpoint, "--with-token"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", srv.owner_token.expose()).unwrap();
    }
    assert!(child.wait_with_output().unwrap().status.success());
    // A corrupt login file is ignored with a warning, and logout still works.
    std::fs::write(&path, "{not json").unwrap();
    let out = s.run(&["whoami"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("ignoring the login file"),
        "{}",
        out.stderr
    );
    let out = s.run_cmd(s.bare(), &["logout"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!path.exists());
    assert_eq!(s.run_cmd(s.bare(), &["whoami"]).code, 2);
}

#[test]
fn usage_errors_unreachable_servers_and_help() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    // Unknown commands and flags: clap's exit 2.
    s.fails(2, &["bots", "frobnicate"]);
    s.fails(2, &["tokens", "list", "--nope"]);
    s.fails(2, &["-o", "yaml", "bots", "list"]);
    s.fails(2, &["whoami", "--endpoint", "not-a-url"]);

    // A bad token: exit 1 with the code and a hint.
    let mut cmd = s.cmd();
    cmd.env("SIGIL_TOKEN", "not-a-token");
    let out = s.run_cmd(cmd, &["bots", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("unauthenticated") && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );

    // Nobody listening: exit 1 naming the endpoint.
    let mut cmd = s.cmd();
    cmd.env("SIGIL_ENDPOINT", "http://127.0.0.1:9");
    let out = s.run_cmd(cmd, &["bots", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("cannot reach") && out.stderr.contains("127.0.0.1:9"),
        "{}",
        out.stderr
    );

    // -h everywhere, groups too, with examples of that very command (not
    // just the `Usage: sigil …` line every help has).
    for cmd in [
        vec!["bots"],
        vec!["tokens"],
        vec!["apps"],
        vec!["orgs"],
        vec!["keys"],
        vec!["bots", "create"],
        vec!["bots", "list"],
        vec!["bots", "view"],
        vec!["bots", "update"],
        vec!["bots", "delete"],
        vec!["bots", "update-identity"],
        vec!["bots", "delete-identity"],
        vec!["tokens", "issue"],
        vec!["tokens", "list"],
        vec!["tokens", "view"],
        vec!["tokens", "update"],
        vec!["tokens", "revoke"],
        vec!["apps", "create"],
        vec!["apps", "list"],
        vec!["apps", "delete"],
        vec!["orgs", "create"],
        vec!["orgs", "list"],
        vec!["keys", "rotate"],
        vec!["whoami"],
        vec!["login"],
        vec!["logout"],
        vec!["completion"],
        vec!["man"],
    ] {
        let mut args = cmd.clone();
        args.push("-h");
        let out = s.ok(&args);
        let examples = out.split_once("Examples:").map(|(_, e)| e).unwrap_or("");
        assert!(
            examples.contains(&format!("sigil {}", cmd.join(" "))),
            "no examples of {cmd:?} in its -h:\n{out}"
        );
        // The global flags under their own heading.
        assert!(
            out.contains("Global options:") && out.contains("--endpoint <URL>"),
            "{cmd:?} -h:\n{out}"
        );
    }
    // The two --scope flags say they are not the same thing.
    let issue = s.ok(&["tokens", "issue", "-h"]);
    let list = s.ok(&["tokens", "list", "-h"]);
    assert!(issue.contains("Not `tokens list --scope`"), "{issue}");
    assert!(list.contains("Not `tokens issue --scope S:A`"), "{list}");
    let top = s.ok(&["--help"]);
    for sub in [
        "bots",
        "tokens",
        "apps",
        "orgs",
        "keys",
        "whoami",
        "login",
        "server",
        "completion",
        "man",
    ] {
        assert!(top.contains(sub), "{sub} missing from --help");
    }
    let issue_help = s.ok(&["tokens", "issue", "--help"]);
    for flag in [
        "--username",
        "--expiry",
        "--label",
        "--claim",
        "--scope",
        "--allow",
        "--app",
    ] {
        assert!(
            issue_help.contains(flag),
            "{flag} missing from tokens issue --help"
        );
    }
    // The token given in the environment is never echoed by --help.
    assert!(!s.ok(&["--help"]).contains(srv.owner_token.expose()));
}

/// The issue wizard and a confirmation, answered through a pseudo-terminal.
#[test]
fn wizard_and_confirmations_on_a_terminal() {
    use rexpect::session::spawn_command;
    const TIMEOUT_MS: Option<u64> = Some(30_000);

    let srv = TestServer::start();
    let s = Sigil::new(&srv);
    s.ok(&[
        "bots",
        "create",
        "steve",
        "-d",
        "CI bot",
        "-p",
        "machines:get:*",
    ]);

    // `tokens issue` without flags asks for the bot, the expiry and the label.
    let mut cmd = s.tty(&["tokens", "issue"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Bot").unwrap();
    p.exp_string("steve").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("Expiry").unwrap();
    p.send_line("30d").unwrap();
    p.exp_string("Label").unwrap();
    p.send_line("from-the-wizard").unwrap();
    let (_, jwt) = p
        .exp_regex(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
        .unwrap();
    p.exp_string("cannot be shown again").unwrap();
    p.exp_eof().unwrap();
    let t = s.json(&["tokens", "view", "from-the-wizard"]);
    assert_eq!(t["owner"], "steve");
    let wizard_id = t["id"].as_str().unwrap().to_string();
    let d = days_from_now(rfc3339(&t["expires_at"]));
    assert!((29.9..=30.0).contains(&d), "expires in {d} days");
    let mut check = s.cmd();
    check.env("SIGIL_TOKEN", &jwt);
    let me = s.run_cmd(check, &["whoami", "-o", "json"]);
    assert_eq!(me.code, 0, "the wizard's token does not work: {me:?}");

    // With -u given, nothing is asked: the server's default lifetime applies.
    let mut cmd = s.tty(&["tokens", "issue", "-u", "steve", "-l", "second"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_regex(r"eyJ[A-Za-z0-9_-]+\.").unwrap();
    p.exp_eof().unwrap();

    // A bad answer is refused and asked again.
    let mut cmd = s.tty(&["tokens", "issue"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Bot").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("Expiry").unwrap();
    p.send_line("soon").unwrap();
    p.exp_string("invalid --expiry").unwrap();
    p.send_line("2h").unwrap();
    p.exp_string("Label").unwrap();
    p.send_line("third").unwrap();
    p.exp_regex(r"eyJ[A-Za-z0-9_-]+\.").unwrap();
    p.exp_eof().unwrap();
    let d = days_from_now(rfc3339(&s.json(&["tokens", "view", "third"])["expires_at"])) * 24.0;
    assert!((1.9..=2.0).contains(&d), "expires in {d} hours");

    // Colour on a terminal, and none with NO_COLOR.
    let cmd = s.tty(&["bots", "list"]);
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    let out = p.exp_eof().unwrap();
    assert!(
        out.contains("\x1b[") && out.contains("steve"),
        "no colour on a terminal: {out:?}"
    );
    let mut cmd = s.tty(&["bots", "list"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    let out = p.exp_eof().unwrap();
    assert!(
        !out.contains('\x1b') && out.contains("steve"),
        "colour despite NO_COLOR: {out:?}"
    );

    // update-identity without --service offers the known services, then asks for the id.
    let mut cmd = s.tty(&["bots", "update-identity", "steve"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Service").unwrap();
    p.exp_string("slack").unwrap();
    p.send("\r").unwrap(); // the first: aws
    p.flush().unwrap();
    p.exp_string("Identity of steve in aws").unwrap();
    p.send_line("arn:aws:iam::123456789012:user/steve").unwrap();
    p.exp_string("Set the aws identity").unwrap();
    p.exp_eof().unwrap();
    let bot = s.json(&["bots", "view", "steve"]);
    assert_eq!(
        bot["identities"]["aws"],
        "arn:aws:iam::123456789012:user/steve"
    );

    // A destructive command asks; "n" keeps everything, "y" goes ahead.
    let mut cmd = s.tty(&["bots", "delete", "steve"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Delete bot steve").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    p.exp_string("cancelled").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(s.json(&["bots", "view", "steve"])["username"], "steve");
    let mut cmd = s.tty(&["bots", "delete", "steve"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Delete bot steve").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Deleted bot steve").unwrap();
    p.exp_eof().unwrap();
    s.fails(1, &["bots", "view", "steve"]);
    let revoked = s.json(&["tokens", "view", &wizard_id]);
    assert_eq!(revoked["status"], "revoked");
}

/// `sigil completion` and `sigil man` come from the command tree itself: no
/// server, no login file, and connection settings that would fail any other
/// command (a bad endpoint, a token) change nothing and never show.
#[test]
fn completion_scripts_and_man_pages_need_no_server() {
    let config = tempfile::tempdir().unwrap();
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJl";
    let run = |args: &[&str]| {
        let out = clean_sigil(config.path())
            .args(args)
            .env("SIGIL_ENDPOINT", "not-a-url")
            .env("SIGIL_TOKEN", token)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !leaks_jwt(&stdout) && !leaks_jwt(&stderr),
            "sigil {args:?} showed the token"
        );
        (out.status.code().unwrap_or(-1), stdout, stderr)
    };

    let (code, bash, stderr) = run(&["completion", "bash"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(bash.contains("_sigil()") && bash.contains("complete -F _sigil"));
    for word in ["tokens", "issue", "server", "--expiry", "--database-url"] {
        assert!(bash.contains(word), "{word} missing from the bash script");
    }
    let (code, zsh, _) = run(&["completion", "zsh"]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef sigil"), "{zsh}");
    let (code, fish, _) = run(&["completion", "fish"]);
    assert_eq!(code, 0);
    assert!(fish.contains("complete -c sigil"), "{fish}");
    let (code, _, stderr) = run(&["completion", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("bash, elvish, fish, powershell, zsh"),
        "{stderr}"
    );

    let (code, page, stderr) = run(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(page.contains(".TH sigil 1"), "{page}");
    for word in ["tokens", "completion", "\\-\\-endpoint", "SIGIL_TOKEN"] {
        assert!(page.contains(word), "{word} missing from the man page");
    }

    let dir = config.path().join("man1");
    let (code, _, stderr) = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    for name in ["sigil.1", "sigil-server.1", "sigil-tokens-issue.1"] {
        let page = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{name} not written: {e}"));
        assert!(page.contains(".TH "), "{name}: {page}");
    }
    // Nothing was stored on the way.
    assert!(!config.path().join("sigil").exists());
}

/// The seeds' habits of issue 14, each in the form `docs/cli.md`'s seed
/// table gives: Digital Rebar's `users …` and `users token USER ttl 1h`,
/// coder's `tokens create` for yourself, `-n`, `tokens rm`, `list -c name`,
/// and `-e -5d` refused for what it means.
#[test]
fn seed_habits_users_tokens_for_yourself_and_aliases() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);
    let me = s.json(&["whoami"]);
    let my_name = me["name"].as_str().unwrap().to_string();

    // users create | list | view | update | delete, in tables and JSON.
    let u = s.json(&[
        "users",
        "create",
        "ada@example.com",
        "--permission",
        "machines:get:*",
    ]);
    assert_eq!(u["email"], "ada@example.com");
    assert_eq!(u["permissions"], serde_json::json!(["machines:get:*"]));
    let id = u["id"].as_str().unwrap().to_string();
    let out = s.ok(&["users", "list"]);
    assert!(
        out.contains("EMAIL") && out.contains("ada@example.com"),
        "{out}"
    );
    let all = s.json(&["users", "list"]);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["email"] == "ada@example.com"));
    let out = s.ok(&["users", "view", "ada@example.com"]);
    assert!(out.contains(&id) && out.contains("machines:get:*"), "{out}");
    assert_eq!(s.json(&["users", "view", &id])["email"], "ada@example.com");
    let u = s.json(&[
        "users",
        "update",
        "ada@example.com",
        "-p",
        "machines:get,list:*",
    ]);
    assert_eq!(u["permissions"], serde_json::json!(["machines:get,list:*"]));
    let err = s.fails(2, &["users", "update", "ada@example.com"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = s.fails(1, &["users", "view", "nobody@example.com"]);
    assert!(err.contains("not_found"), "{err}");

    // users token USER ttl 1h scope '*' action '*' specific '*' (drpcli's words).
    let v = s.json(&[
        "users",
        "token",
        "ada@example.com",
        "ttl",
        "1h",
        "scope",
        "machines",
        "action",
        "get",
        "specific",
        "*",
    ]);
    assert_eq!(v["owner"], "ada@example.com");
    assert_eq!(v["claims"], serde_json::json!(["machines:get:*"]));
    let h = days_from_now(rfc3339(&v["expires_at"])) * 24.0;
    assert!((0.9..=1.0).contains(&h), "expires in {h} hours");
    let out = s.run(&["users", "token", "ada@example.com", "ttl", "1h"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.trim().starts_with("eyJ"), "{}", out.stdout);
    // Beyond the human cap: the server's message, and the CLI's hint, name a bot.
    let err = s.fails(1, &["users", "token", "ada@example.com", "ttl", "30d"]);
    assert!(
        err.contains("tokens of human users live at most")
            && err.contains("lifetime_exceeded")
            && err.contains("sigil bots create"),
        "{err}"
    );
    let err = s.fails(2, &["users", "token", "ada@example.com", "life", "1h"]);
    assert!(err.contains("unknown word \"life\""), "{err}");

    // tokens issue without -u, other flags given: for the caller; -n is -l.
    let v = s.json(&["tokens", "create", "-e", "1h", "-n", "mine"]);
    assert_eq!(v["owner"].as_str(), Some(my_name.as_str()));
    assert_eq!(v["label"], "mine");
    let v = s.json(&["tokens", "issue", "--name", "mine-too", "-e", "2h"]);
    assert_eq!(v["owner"].as_str(), Some(my_name.as_str()));

    // tokens list -c name: the label, as coder calls it.
    let out = s.ok(&["tokens", "list", "-c", "id,name"]);
    assert!(
        out.contains("LABEL") && out.contains("mine") && out.contains("mine-too"),
        "{out}"
    );

    // tokens rm: revoke's other name.
    let out = s.ok(&["tokens", "rm", "mine", "--yes"]);
    assert!(out.contains("Revoked token"), "{out}");
    let t = s.json(&["tokens", "list", "--include-revoked"]);
    assert!(t
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["label"] == "mine" && x["status"] == "revoked"));

    // -e -5d is a value, refused as not positive; so are --expiry=-5d and 0d.
    for args in [
        &["tokens", "issue", "-e", "-5d", "-n", "neg"][..],
        &["tokens", "issue", "--expiry=-5d"][..],
        &["tokens", "issue", "--expiry=0d"][..],
        &["users", "token", "ada@example.com", "-e", "-5d"][..],
    ] {
        let err = s.fails(2, args);
        let raw = if args.contains(&"--expiry=0d") {
            "0d"
        } else {
            "-5d"
        };
        assert!(
            err.contains(&format!(
                "error: invalid --expiry \"{raw}\": the lifetime must be positive, e.g. 5d"
            )),
            "{args:?}: {err}"
        );
    }

    // drpcli's `scope '*' action '*' specific '*'`, for a bot (users token works for bots too).
    s.ok(&["bots", "create", "deployer", "-p", "*:*:*"]);
    let v = s.json(&[
        "users", "token", "deployer", "ttl", "1h", "scope", "*", "action", "*", "specific", "*",
    ]);
    assert_eq!(v["owner"], "deployer");
    assert_eq!(v["claims"], serde_json::json!(["*:*:*"]));
    // fly.io: `tokens create org` (20 years) and a deploy token for one app.
    let v = s.json(&["tokens", "issue", "-u", "deployer", "-e", "20y"]);
    let y = days_from_now(rfc3339(&v["expires_at"])) / 365.0;
    assert!((19.9..=20.0).contains(&y), "expires in {y} years");
    s.ok(&["apps", "create", "web"]);
    let v = s.json(&[
        "tokens", "issue", "-u", "deployer", "--app", "web", "-e", "7d",
    ]);
    assert_eq!(v["app"], "web");

    // users delete asks; --yes deletes.
    let err = s.fails(2, &["users", "delete", "ada@example.com"]);
    assert!(err.contains("--yes"), "{err}");
    let out = s.ok(&["users", "delete", "ada@example.com", "--yes"]);
    assert!(out.contains("Deleted user ada@example.com"), "{out}");
    s.fails(1, &["users", "view", "ada@example.com"]);
}

/// The shortest start of `id` (at least 4 hex digits) that no other of `ids` has.
fn unique_prefix(id: &str, ids: &[String]) -> String {
    (4..id.len())
        .map(|n| &id[..n])
        .filter(|p| !p.ends_with('-'))
        .find(|p| !ids.iter().any(|other| other != id && other.starts_with(p)))
        .unwrap_or(id)
        .to_string()
}

fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// Sym's `symflow tokens revoke 662b2…`: a unique start of an id names the
/// token (bot, user, app) wherever an id is taken; an ambiguous one is a
/// usage error listing every match; one that matches nothing is "not found".
#[test]
fn short_id_prefixes_resolve_and_ambiguity_lists_the_matches() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);
    s.ok(&["bots", "create", "steve", "-p", "machines:get:*"]);
    let (a, _) = s.issue(&["-u", "steve", "-e", "1d", "-l", "first"]);
    let (b, _) = s.issue(&["-u", "steve", "-e", "1d", "-l", "second"]);
    let ids = ids_of(&s.json(&["tokens", "list", "--include-revoked"]));
    let short = unique_prefix(&a, &ids);

    // view, update and revoke by a unique prefix; a trailing … (a cut table cell) is fine.
    assert_eq!(s.json(&["tokens", "view", &short])["id"], a.as_str());
    assert_eq!(
        s.json(&["tokens", "view", &format!("{short}…")])["id"],
        a.as_str()
    );
    let t = s.json(&["tokens", "update", &short, "--label", "renamed"]);
    assert_eq!(
        (t["id"].as_str(), t["label"].as_str()),
        (Some(&a[..]), Some("renamed"))
    );

    // Ambiguous: the first four digits of ids made in the same minute.
    let err = s.fails(2, &["tokens", "view", &a[..4]]);
    let n = ids.iter().filter(|i| i.starts_with(&a[..4])).count();
    assert!(
        err.contains(&format!(
            "error: the id prefix \"{}\" matches {n} tokens; give more of the id:\n",
            &a[..4]
        )) && err.contains(&format!("  {a}  \"renamed\" of steve\n"))
            && err.contains(&format!("  {b}  \"second\" of steve\n")),
        "{err}"
    );
    let err = s.fails(2, &["tokens", "revoke", &a[..4], "--yes"]);
    assert!(err.contains("give more of the id"), "{err}");
    // Nothing starts so: not found, exit 1.
    let err = s.fails(1, &["tokens", "view", "ffff0000"]);
    assert!(
        err.contains("error: no token has the id, id prefix or label \"ffff0000\" in org default"),
        "{err}"
    );
    let out = s.ok(&["tokens", "revoke", &short, "--yes"]);
    assert!(
        out.contains(&format!("Revoked token {a} \"renamed\"")),
        "{out}"
    );
    assert_eq!(s.json(&["tokens", "view", &b])["status"], "active");

    // Bots, users and apps: names first, then the start of an id.
    s.ok(&["bots", "create", "sam"]);
    let bots = s.json(&["bots", "list"]);
    let bot_ids = ids_of(&bots);
    let steve = bots
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["username"] == "steve")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = unique_prefix(&steve, &bot_ids);
    assert_eq!(s.json(&["bots", "view", &p])["username"], "steve");
    let v = s.json(&["bots", "update", &p, "-d", "by prefix"]);
    assert_eq!(v["description"], "by prefix");
    let err = s.fails(2, &["bots", "view", &steve[..4]]);
    assert!(
        err.contains(&format!(
            "matches 2 bots; give more of the id:\n  {steve}  steve\n"
        )) || err.contains(&format!("  {steve}  steve")),
        "{err}"
    );
    let err = s.fails(1, &["bots", "view", "ffff0000"]);
    assert!(err.contains("not_found"), "{err}");

    let ada = s.json(&["users", "create", "ada@example.com"]);
    let ada_id = ada["id"].as_str().unwrap().to_string();
    let p = unique_prefix(&ada_id, &ids_of(&s.json(&["users", "list"])));
    assert_eq!(s.json(&["users", "view", &p])["email"], "ada@example.com");

    let web = s.json(&["apps", "create", "web"]);
    let web_id = web["id"].as_str().unwrap().to_string();
    let out = s.ok(&["apps", "delete", &web_id[..13], "--yes"]);
    assert!(out.contains("Deleted app web"), "{out}");
}

/// `sigil bots create` with no arguments: a wizard on a terminal, a usage
/// error naming the argument without one.
#[test]
fn bots_create_wizard_on_a_terminal() {
    use rexpect::session::spawn_command;
    const TIMEOUT_MS: Option<u64> = Some(30_000);
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    let err = s.fails(2, &["bots", "create"]);
    assert!(
        err.contains(
            "error: missing NAME, the bot's username: e.g. `sigil bots create steve \
             --permission 'machines:get,list:*'` (there is no terminal to ask on)"
        ),
        "{err}"
    );

    let mut cmd = s.tty(&["bots", "create"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Username").unwrap();
    p.send_line("Not A Name").unwrap();
    p.exp_string("invalid username").unwrap();
    p.send_line("wizbot").unwrap();
    p.exp_string("Description").unwrap();
    p.send_line("made by the wizard").unwrap();
    p.exp_string("Permissions").unwrap();
    p.send_line("machines:get,list:* bot:get:*").unwrap();
    p.exp_string("did you mean `bots`?").unwrap();
    p.exp_string("Created bot wizbot").unwrap();
    p.exp_eof().unwrap();
    let bot = s.json(&["bots", "view", "wizbot"]);
    assert_eq!(bot["description"], "made by the wizard");
    assert_eq!(
        bot["permissions"],
        serde_json::json!(["machines:get,list:*", "bot:get:*"])
    );

    // What the flags give is not asked again.
    let mut cmd = s.tty(&["bots", "create", "-p", "machines:get:*"]);
    cmd.env("NO_COLOR", "1");
    let mut p = spawn_command(cmd, TIMEOUT_MS).unwrap();
    p.exp_string("Username").unwrap();
    p.send_line("second").unwrap();
    p.exp_string("Description").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Created bot second").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(!rest.contains("Permissions,"), "asked again: {rest}");
    let bot = s.json(&["bots", "view", "second"]);
    assert_eq!(bot["permissions"], serde_json::json!(["machines:get:*"]));
    assert_eq!(bot["description"], "");
}

/// Issue 14's smaller items, each by its exact message: a typo of one of
/// Sigil's scopes warns (a resource server's free scope does not), an
/// endpoint with `/v1` or `https://` to a plain-HTTP server gets a hint,
/// server logs carry no colour codes into a pipe, and piped help keeps each
/// example on one line.
#[test]
fn scope_typos_endpoint_hints_plain_logs_and_whole_help_lines() {
    let srv = TestServer::start();
    let s = Sigil::new(&srv);

    let out = s.run(&[
        "bots",
        "create",
        "typo",
        "-p",
        "bot:get:*",
        "-p",
        "machine:gett:*",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .collect::<Vec<_>>(),
        ["warning: `bot` is not one of Sigil's scopes; did you mean `bots`?"],
        "{}",
        out.stderr
    );
    let out = s.run(&[
        "tokens",
        "issue",
        "-e",
        "1h",
        "--claim",
        "tokens:lsit:*",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("warning: `lsit` is not one of Sigil's actions; did you mean `list`?\n"),
        "{}",
        out.stderr
    );

    let mut cmd = s.cmd();
    cmd.env("SIGIL_ENDPOINT", format!("{}/v1", srv.endpoint));
    let out = s.run_cmd(cmd, &["bots", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "error: no such route (code not_found, HTTP 404)\n\
             hint: drop `/v1` from the endpoint: use {} (the CLI adds /v1 itself)\n",
            srv.endpoint
        )),
        "{}",
        out.stderr
    );
    let mut cmd = s.cmd();
    let https = srv.endpoint.replacen("http://", "https://", 1);
    cmd.env("SIGIL_ENDPOINT", &https);
    let out = s.run_cmd(cmd, &["bots", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("received corrupt message of type InvalidContentType")
            && out.stderr.contains(&format!(
                "hint: the server speaks plain HTTP; use {}\n",
                srv.endpoint
            )),
        "{}",
        out.stderr
    );

    // The server's stderr is a pipe here: plain log lines, no escape codes.
    let logs = srv.logs();
    assert!(logs.contains("INFO"), "{logs}");
    assert!(
        !logs.contains('\x1b'),
        "colour codes in piped logs:\n{logs:?}"
    );

    // Piped help is not wrapped: a long example stays one line.
    let help = s.ok(&["tokens", "issue", "--help"]);
    assert!(
        help.lines().any(|l| l
            == "  sigil tokens issue -u steve --scope machines:get --allow machines:48de76fd-c5c7-4b05-9f70-52af9a996d38"),
        "{help}"
    );
}
