//! The CLI's session and terminal: the login file, usage errors, unreachable
//! servers and help, the issue wizard and confirmations on a pseudo-terminal,
//! completion scripts and man pages (split from `cli.rs`).

// Helpers outside `#[test]` functions panic on purpose too: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::cli::{days_from_now, rfc3339};
use serde_json::Value;
use sigil_e2e::cli::{clean_sigil, leaks_jwt, Sigil};
use sigil_e2e::TestServer;
use std::process::Stdio;

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
