//! The CLI as the seeds use it (issue 14): their habits and aliases, unique
//! id prefixes, the bots wizard, scope typos and endpoint hints (split from
//! `cli.rs`).

// Helpers outside `#[test]` functions panic on purpose too: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::cli::{days_from_now, rfc3339};
use serde_json::Value;
use sigil_e2e::cli::Sigil;
use sigil_e2e::TestServer;

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
