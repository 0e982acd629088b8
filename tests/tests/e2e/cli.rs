//! The real `sigil` CLI against a real server process: every command's happy
//! path and main errors, JSON parsed and checked, exit codes (1 for a failed
//! operation, 2 for a usage error), the issue wizard and the confirmations
//! answered through a pseudo-terminal, and the rule that a JWT never reaches
//! stderr or a table (only `tokens issue` and `users token` print one).
//! Split by theme: this file (bots, tokens, apps, orgs, keys), `cli_session.rs`
//! (login, usage errors, help, terminal wizards, completion), `cli_habits.rs`
//! (the seeds' habits, id prefixes, hints), `cli_power.rs`, `cli_webhooks.rs`.

// Helpers outside `#[test]` functions panic on purpose too: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigil_e2e::cli::Sigil;
use sigil_e2e::TestServer;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) fn rfc3339(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        v.as_str().unwrap_or_else(|| panic!("not a string: {v}")),
        &Rfc3339,
    )
    .unwrap_or_else(|e| panic!("not RFC 3339: {v}: {e}"))
}

pub(crate) fn days_from_now(t: OffsetDateTime) -> f64 {
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
