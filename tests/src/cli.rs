//! The real `sigil` CLI, run as a user would against one [`TestServer`].
//!
//! [`Sigil`] gives every run a clean environment (none of the caller's
//! `SIGIL_*` or `NO_COLOR`) and a config dir of its own, so `sigil login`
//! files never touch the real user's. After every run it checks what must hold
//! for any command: no colour outside a terminal, no JWT on stderr (nor any
//! secret [`Sigil::remember`]ed), and none on stdout except from the commands
//! that mint one ([`MINTING`]).

use crate::{sigil_bin, TestServer};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The commands (first two words) that print a new secret on stdout: a JWT
/// (`tokens issue` and its alias `create`, `tokens attenuate`, `users token`)
/// or a webhook's signing secret (`webhooks create`).
pub const MINTING: &[[&str; 2]] = &[
    ["tokens", "issue"],
    ["tokens", "create"],
    ["tokens", "attenuate"],
    ["users", "token"],
    ["webhooks", "create"],
];

/// What one run of the CLI gave.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Whether `text` holds anything of a JWT: an `eyJ` (base64 of `{"`, how
/// every JWT starts) that is not the CLI's redaction marker `eyJ…<redacted>`.
pub fn leaks_jwt(text: &str) -> bool {
    text.match_indices("eyJ")
        .any(|(i, _)| !text[i..].starts_with("eyJ…<redacted>"))
}

/// The string of a JSON string value; panics on anything else.
pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// `sigil` with none of the caller's `SIGIL_*` nor `NO_COLOR`, `home` as its
/// `HOME` and `XDG_CONFIG_HOME` (so no login of the real user's is read),
/// stdin from /dev/null.
pub fn clean_sigil(home: &Path) -> Command {
    let mut cmd = Command::new(sigil_bin());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SIGIL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd.env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .stdin(Stdio::null());
    cmd
}

/// Runs `sigil` against one server, as the owner unless told otherwise.
pub struct Sigil<'a> {
    pub srv: &'a TestServer,
    pub config: tempfile::TempDir,
    /// Secrets seen so far: none may appear on stderr, nor on stdout outside [`MINTING`].
    secrets: Mutex<Vec<String>>,
}

impl<'a> Sigil<'a> {
    pub fn new(srv: &'a TestServer) -> Self {
        Sigil {
            srv,
            config: tempfile::tempdir().expect("tempdir"),
            secrets: Mutex::new(Vec::new()),
        }
    }

    /// `sigil` with a clean environment and our config dir: no endpoint, no token.
    pub fn bare(&self) -> Command {
        clean_sigil(self.config.path())
    }

    /// `sigil` with only the endpoint: no token at all.
    pub fn anonymous(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("SIGIL_ENDPOINT", &self.srv.endpoint);
        cmd
    }

    /// `sigil` speaking with `token`.
    pub fn with(&self, token: &str) -> Command {
        let mut cmd = self.anonymous();
        cmd.env("SIGIL_TOKEN", token);
        cmd
    }

    /// `sigil` speaking as the owner.
    pub fn cmd(&self) -> Command {
        self.with(self.srv.owner_token.expose())
    }

    /// A command for a pseudo-terminal: it keeps the standard streams rexpect
    /// gives it (the pty), where [`Sigil::cmd`] would point stdin at /dev/null.
    pub fn tty(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd();
        cmd.args(args)
            .env("TERM", "xterm")
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        cmd
    }

    /// Where `sigil login` keeps its file.
    pub fn login_file(&self) -> PathBuf {
        self.config.path().join("sigil").join("login.json")
    }

    /// A secret that must from now on never reach stderr, nor stdout outside [`MINTING`].
    pub fn remember(&self, secret: &str) {
        self.secrets
            .lock()
            .expect("secrets")
            .push(secret.to_string());
    }

    /// Runs `cmd` with `args`, `stdin` written to its standard input when
    /// given, and checks the invariants of every run (see the module's doc).
    pub fn exec(&self, mut cmd: Command, args: &[&str], stdin: Option<&str>) -> Out {
        cmd.args(args);
        let out = match stdin {
            None => cmd.output().expect("run sigil"),
            Some(input) => {
                cmd.stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = cmd.spawn().expect("spawn sigil");
                let mut pipe = child.stdin.take().expect("stdin");
                pipe.write_all(input.as_bytes()).expect("write stdin");
                drop(pipe);
                child.wait_with_output().expect("wait for sigil")
            }
        };
        let out = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.check(args, &out);
        out
    }

    fn check(&self, args: &[&str], out: &Out) {
        assert!(
            !leaks_jwt(&out.stderr),
            "a JWT reached stderr of {args:?}:\n{}",
            out.stderr
        );
        assert!(
            !out.stdout.contains('\x1b') && !out.stderr.contains('\x1b'),
            "colour without a terminal: {args:?}"
        );
        let minting = args
            .windows(2)
            .any(|w| MINTING.iter().any(|m| w == m.as_slice()));
        assert!(
            minting || !out.stdout.contains("eyJ"),
            "a JWT reached stdout of {args:?}:\n{}",
            out.stdout
        );
        for s in self.secrets.lock().expect("secrets").iter() {
            assert!(
                !out.stderr.contains(s.as_str()),
                "a secret reached stderr of {args:?}:\n{}",
                out.stderr
            );
            assert!(
                minting || !out.stdout.contains(s.as_str()),
                "a secret reached stdout of {args:?}:\n{}",
                out.stdout
            );
        }
    }

    /// Runs `cmd` with `args` (see [`Sigil::exec`]).
    pub fn run_cmd(&self, cmd: Command, args: &[&str]) -> Out {
        self.exec(cmd, args, None)
    }

    /// Runs as the owner.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_cmd(self.cmd(), args)
    }

    /// Runs `cmd` and expects success.
    pub fn succeeds_with(&self, cmd: Command, args: &[&str]) -> Out {
        let out = self.run_cmd(cmd, args);
        assert_eq!(
            out.code, 0,
            "sigil {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Runs as the owner and expects success.
    pub fn succeeds(&self, args: &[&str]) -> Out {
        self.succeeds_with(self.cmd(), args)
    }

    /// Runs `cmd` and expects success; returns stdout.
    pub fn ok_with(&self, cmd: Command, args: &[&str]) -> String {
        self.succeeds_with(cmd, args).stdout
    }

    /// Runs as the owner and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(self.cmd(), args)
    }

    /// Runs `cmd` with `-o json` and parses stdout.
    pub fn json_with(&self, cmd: Command, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let stdout = self.ok_with(cmd, &all);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("sigil {args:?}: not JSON ({e}):\n{stdout}"))
    }

    /// Runs as the owner with `-o json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        self.json_with(self.cmd(), args)
    }

    /// Runs `cmd` and expects exit `code` with an error message; returns stderr.
    pub fn fails_with(&self, cmd: Command, code: i32, args: &[&str]) -> String {
        let out = self.run_cmd(cmd, args);
        assert_eq!(
            out.code, code,
            "sigil {args:?}: expected exit {code}:\n{}\n{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stderr.contains("error:"),
            "no error message: {}",
            out.stderr
        );
        out.stderr
    }

    /// Runs as the owner and expects exit `code` with an error message; returns stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        self.fails_with(self.cmd(), code, args)
    }

    /// Issues a token as the owner (`tokens issue ARGS… -o json`); returns (id, jwt).
    pub fn issue(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["tokens", "issue"];
        all.extend(args);
        let v = self.json(&all);
        (str_of(&v["id"]), str_of(&v["token"]))
    }

    /// Derives from `parent` (speaking with it) and returns the answer (with `token`).
    pub fn attenuate(&self, parent: &str, args: &[&str]) -> Value {
        let mut all = vec!["tokens", "attenuate"];
        all.extend(args);
        self.json_with(self.with(parent), &all)
    }

    /// The token's view, as the owner.
    pub fn view(&self, id: &str) -> Value {
        self.json(&["tokens", "view", id])
    }

    /// The ids `tokens list` answers for these filters, as the owner.
    pub fn listed(&self, filters: &[&str]) -> Vec<String> {
        let mut all = vec!["tokens", "list"];
        all.extend(filters);
        let v = self.json(&all);
        v.as_array()
            .expect("a JSON array")
            .iter()
            .map(|t| str_of(&t["id"]))
            .collect()
    }
}
