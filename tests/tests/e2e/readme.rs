//! The README's shell blocks, run as a reader runs them: in order, each with
//! `bash` under `set -euo pipefail`, against a fresh server. A block that
//! fails fails the test, naming the block (its line and first command) and
//! showing what it printed.
//!
//! The rules, so that what runs here is what the README says:
//! - Every fenced block whose info string starts with `sh` or `bash` runs, in
//!   file order, unless its info string also says `no-test` (```` ```sh
//!   no-test ````). Those are the blocks a test cannot run as written:
//!   `./scripts/server.sh` (this test starts the server itself),
//!   `./scripts/test.sh` (the suite this test is part of) and
//!   `provider/install.sh` (a cargo build). Nothing else is skipped.
//! - The blocks share one scratch directory, which stands in for the
//!   repository root as `scripts/server.sh` leaves it: `target/debug/sigil` is
//!   a link to the binary under test (`cargo build --workspace --bins` built
//!   it), and `sigil-data/bootstrap-token.txt` holds the fresh server's owner
//!   token, where `scripts/server.sh` has the server write it. `HOME` and
//!   `XDG_CONFIG_HOME` point into the scratch directory (`sigil login`'s file).
//! - What a block exports reaches the next block, as in one shell; the test's
//!   own `SIGIL_*` variables are removed first.
//! - One substitution: `http://127.0.0.1:8080`, where `scripts/server.sh`
//!   listens, becomes the address of the test's server (a free port).

use sigil_e2e::{sigil_bin, TestServer};
use std::path::Path;
use std::process::{Command, Stdio};

/// A shell block of the README.
struct Block {
    /// 1-based line of its opening fence.
    line: usize,
    info: String,
    text: String,
}

impl Block {
    fn runs(&self) -> bool {
        let mut words = self.info.split_whitespace();
        matches!(words.next(), Some("sh" | "bash")) && !words.any(|w| w == "no-test")
    }

    /// How a failure names the block.
    fn name(&self) -> String {
        let first = self
            .text
            .lines()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .unwrap_or("");
        format!("README.md line {} (`{}`)", self.line, first.trim())
    }
}

/// Every fenced block of `markdown`, with its info string.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    line: i + 1,
                    info: info.trim().to_string(),
                    text: String::new(),
                })
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => out.extend(open.take()),
            (Some(b), _) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// `text` with every JWT-shaped run replaced, so a failure never prints a token.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let run = rest[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(rest.len() - at);
        out.push_str("eyJ…<redacted>");
        rest = &rest[at + run..];
    }
    out.push_str(rest);
    out
}

/// Runs `block` with bash in `dir`, the environment of the blocks before it
/// read from (and its own exports written to) `dir/.readme-env`; answers
/// the exit status and everything printed, stdout and stderr interleaved.
fn run(block: &Block, dir: &Path, endpoint: &str) -> (bool, String) {
    let state = dir.join(".readme-env");
    let body = block.text.replace("http://127.0.0.1:8080", endpoint);
    let script = format!(
        "exec 2>&1\nset -euo pipefail\n[ -f {state} ] && source {state}\n{body}\nexport -p > {state}\n",
        state = shell_quote(&state.to_string_lossy()),
    );
    let mut cmd = Command::new("bash");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SIGIL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn readme_shell_blocks_run_as_written() {
    let readme = std::fs::read_to_string(sigil_e2e::workspace().join("README.md")).unwrap();
    let all = blocks(&readme);
    let runnable: Vec<&Block> = all.iter().filter(|b| b.runs()).collect();
    // The walkthroughs are there to be run: the two-commands export, curl, the CLI.
    assert!(
        runnable.len() >= 3,
        "expected the README's shell blocks, found {} to run",
        runnable.len()
    );

    let srv = TestServer::start();
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("target/debug")).unwrap();
    std::os::unix::fs::symlink(sigil_bin(), dir.join("target/debug/sigil")).unwrap();
    let token_file = dir.join("sigil-data/bootstrap-token.txt");
    std::fs::create_dir_all(token_file.parent().unwrap()).unwrap();
    std::fs::write(&token_file, format!("{}\n", srv.owner_token.expose())).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    let mut printed = Vec::new();
    for block in &runnable {
        let (ok, output) = run(block, dir, &srv.endpoint);
        assert!(
            ok,
            "{} failed.\n--- the block ---\n{}--- what it printed ---\n{}",
            block.name(),
            block.text,
            redact(&output)
        );
        printed.push((block.name(), output));
    }

    // What the walkthroughs promise in their comments, beyond running: the
    // revoked token is refused (curl's 401, the CLI's error), and revoking
    // by label again says the token was already revoked.
    let all_output: String = printed.iter().map(|(_, o)| o.as_str()).collect();
    for promise in [
        " HTTP 401",
        "the bearer token has been revoked",
        "was already revoked",
    ] {
        assert!(
            all_output.contains(promise),
            "no block printed {promise:?}; they printed:\n{}",
            redact(&all_output)
        );
    }
}

#[test]
fn blocks_and_the_skip_rule() {
    let md = "text\n```sh\necho a\n```\n```sh no-test\n./scripts/server.sh\n```\n```hcl\nx = 1\n```\n```bash\n# c\necho b\n```\n";
    let all = blocks(md);
    assert_eq!(all.len(), 4);
    let run: Vec<String> = all.iter().filter(|b| b.runs()).map(|b| b.name()).collect();
    assert_eq!(
        run,
        [
            "README.md line 2 (`echo a`)",
            "README.md line 11 (`echo b`)"
        ]
    );
    assert_eq!(redact("a eyJhbGc.eyJzdWIi.c2ln b"), "a eyJ…<redacted> b");
}
