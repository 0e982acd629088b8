//! The schema-driven fuzzer: schemathesis (from PyPI, installed by
//! `scripts/setup.sh` into `.tools/st`) reads `/openapi.json` of a real
//! `sigil server` — on SQLite and on a fresh PostgreSQL database — and sends
//! requests the document allows and requests it forbids, with the bootstrap
//! owner token as bearer. It fails the test when:
//! - any answer is a 5xx (`not_a_server_error`);
//! - an answer is outside the document: status, content type or body
//!   (`status_code_conformance`, `content_type_conformance`,
//!   `response_schema_conformance`);
//! - a request the schema allows is refused as malformed (400), or one it
//!   forbids is accepted (`positive_data_acceptance`,
//!   `negative_data_rejection`). A schema-valid request may still be refused
//!   for what it means — 404 no such object, 409 a duplicate, 422 a claim
//!   beyond the owner's rights or an expiry in the past, 403 — never for its form;
//! - an answer takes longer than 5 s.
//!
//! Whom it fuzzes as: a bot `fuzzer` holding `*:*:*` in its own org `fuzz`,
//! with tokens an auth hook mints (with the bootstrap owner token, which the
//! fuzzer never holds) every 2 s and after any 401. The fuzzer learns its own
//! token id from `/v1/whoami` and may shorten, revoke or delete it, shrink
//! its bot's rights or delete the bot: the hook restores bot and rights and
//! mints a new token, so the run goes on testing rather than collecting 401s.
//!
//! Bounded: a fixed number of examples per operation, a fixed seed (so a
//! failure reproduces; `SIGIL_FUZZ_SEED` picks another, `SIGIL_FUZZ_EXAMPLES`
//! more examples), and a hard cap of 150 s per backend.
//!
//! Without `.tools/st` the test is skipped with a message, unless `CI` is set:
//! then a missing fuzzer is a failure.

use sigil_e2e::{workspace, PgDb, ServerOptions, TestServer};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The statuses that refuse a well-formed request for what it means (see the module doc).
const CONFIG: &str = r#"
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "403", "404", "409", "422"]
"#;

/// The auth hook (a Python module schemathesis loads through `SCHEMATHESIS_HOOKS`).
const HOOKS: &str = r#"
import os
import requests
import schemathesis

BASE = os.environ["SIGIL_FUZZ_ENDPOINT"]
ROOT = {"Authorization": "Bearer " + os.environ["SIGIL_FUZZ_ROOT_TOKEN"]}
BOT = {"username": "fuzzer", "permissions": ["*:*:*"]}


def call(method, path, body):
    return requests.request(method, BASE + path, json=body, headers=ROOT, timeout=10)


@schemathesis.auth(refresh_interval=2)
class FuzzerToken:
    def get(self, case, ctx):
        call("POST", "/v1/orgs", {"name": "fuzz"})
        if call("PATCH", "/v1/orgs/fuzz/bots/fuzzer", {"permissions": ["*:*:*"]}).status_code == 404:
            call("POST", "/v1/orgs/fuzz/bots", BOT)
        r = call("POST", "/v1/orgs/fuzz/tokens", {"owner": "fuzzer", "expiry": "1h"})
        r.raise_for_status()
        return r.json()["token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = "Bearer " + data
"#;

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,positive_data_acceptance,negative_data_rejection";

const TIME_CAP: Duration = Duration::from_secs(150);

fn schemathesis() -> Option<PathBuf> {
    let st = workspace().join(".tools/st/bin/st");
    if st.exists() {
        return Some(st);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !ci,
        "{} is missing: run scripts/setup.sh (CI must run the fuzzer)",
        st.display()
    );
    eprintln!(
        "SKIPPED: {} is missing; run scripts/setup.sh to install schemathesis",
        st.display()
    );
    None
}

/// Runs schemathesis against `server`; panics with its report on any finding.
fn fuzz(server: &TestServer, backend: &str) {
    let Some(st) = schemathesis() else { return };
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    std::fs::write(work.path().join("sigil_fuzz_hooks.py"), HOOKS).unwrap();
    let out_path = work.path().join("out.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let seed = std::env::var("SIGIL_FUZZ_SEED").unwrap_or_else(|_| "20261130".into());
    let examples = std::env::var("SIGIL_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    let started = Instant::now();
    let mut child = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .arg("run")
        .arg(format!("{}/openapi.json", server.endpoint))
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &examples])
        .args(["--seed", &seed])
        .args(["--workers", "1"])
        .args(["--max-response-time", "5"])
        .args(["--request-timeout", "10"])
        .args(["--generation-database", "none"])
        .args(["--max-failures", "20"])
        .current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", "sigil_fuzz_hooks")
        .env("PYTHONPATH", work.path())
        .env("SIGIL_FUZZ_ENDPOINT", &server.endpoint)
        .env("SIGIL_FUZZ_ROOT_TOKEN", server.owner_token.expose())
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("run schemathesis");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > TIME_CAP {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut report = String::new();
    std::fs::File::open(&out_path)
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    eprintln!(
        "schemathesis on {backend}: {:?}, {:.0?}\n{}",
        status,
        started.elapsed(),
        tail(&report, 60)
    );
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "schemathesis found problems on {backend} ({s}; seed {seed}):\n{}\n--- server log ---\n{}",
            tail(&report, 400),
            tail(&server.logs(), 40)
        ),
        None => panic!(
            "schemathesis ran past {TIME_CAP:?} on {backend}:\n{}",
            tail(&report, 100)
        ),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The fuzzer files more leak reports than an address may in an hour: the
/// limit is raised so that every one reaches the route's checks.
fn fuzzed_args() -> Vec<String> {
    vec!["--leak-rate-limit".into(), "1000000".into()]
}

#[test]
fn fuzz_openapi_sqlite() {
    let server = TestServer::start_with(ServerOptions {
        args: fuzzed_args(),
        ..Default::default()
    });
    fuzz(&server, "SQLite");
}

#[test]
fn fuzz_openapi_postgres() {
    let db = PgDb::create();
    let server = TestServer::start_with(ServerOptions {
        database_url: Some(db.url.clone()),
        args: fuzzed_args(),
        ..Default::default()
    });
    fuzz(&server, "PostgreSQL");
}
