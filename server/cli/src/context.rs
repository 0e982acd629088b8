//! Global flags and where each setting comes from.
//!
//! Precedence, highest first: the flag, the environment (`SIGIL_ENDPOINT`,
//! `SIGIL_TOKEN`, `SIGIL_ORG`), the file `sigil login` wrote, a default. The
//! stored token is only sent to the endpoint it was stored for: pointing the
//! CLI at another server with `--endpoint` must not hand that server our token.

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use sigil_proto::client::Client;
use sigil_proto::SecretString;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::error::CliError;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";
pub const DEFAULT_ORG: &str = "default";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables and human-readable times.
    Table,
    /// JSON, times in RFC 3339.
    Json,
}

/// The `-h` heading of the flags every command takes.
const GLOBAL: &str = "Global options";

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// URL of the Sigil server [default: from `sigil login`, else http://127.0.0.1:8080].
    #[arg(
        long,
        env = "SIGIL_ENDPOINT",
        global = true,
        value_name = "URL",
        help_heading = GLOBAL
    )]
    pub endpoint: Option<String>,
    /// Bearer token to call the server with [default: from `sigil login`].
    #[arg(
        long,
        env = "SIGIL_TOKEN",
        global = true,
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = GLOBAL
    )]
    pub token: Option<String>,
    /// Organization to work in [default: from `sigil login`, else `default`].
    #[arg(
        long,
        env = "SIGIL_ORG",
        global = true,
        value_name = "ORG",
        help_heading = GLOBAL
    )]
    pub org: Option<String>,
    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        global = true,
        value_enum,
        default_value_t = Output::Table,
        help_heading = GLOBAL
    )]
    pub output: Output,
}

/// What `sigil login` stores, as JSON in a 0600 file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredLogin {
    pub endpoint: String,
    pub token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// Everything a command needs: where to go, as whom, in which org, how to print.
pub struct Ctx {
    pub endpoint: String,
    token: Option<SecretString>,
    pub org: String,
    /// Whether the org came from a flag or the environment (not a default).
    pub org_explicit: bool,
    /// Whether the endpoint came from a flag or the environment.
    pub endpoint_explicit: bool,
    /// Whether the token came from a flag or the environment (not the login file).
    pub token_explicit: bool,
    /// The endpoint of the stored login, whether or not it is the one in use.
    pub stored_endpoint: Option<String>,
    pub output: Output,
    /// Standard input and standard error are both terminals: prompts are possible.
    pub interactive: bool,
    /// Standard output is a terminal.
    pub stdout_tty: bool,
}

impl Ctx {
    pub fn resolve(args: GlobalArgs) -> Result<Self, CliError> {
        // A broken login file must not lock the user out of `--token`, nor of
        // `sigil logout` and `sigil login`, which replace it.
        let stored = load_login().unwrap_or_else(|e| {
            crate::output::warn(&format!("ignoring the login file: {e}"));
            None
        });
        let ctx = Self::resolve_with(args, stored)?;
        crate::output::init_colour(ctx.stdout_tty);
        Ok(ctx)
    }

    /// The settings from the flags (or environment, which clap folds into
    /// them) over the stored login. The stored token and org go with the
    /// stored endpoint: used only when that endpoint is the one in use.
    pub fn resolve_with(args: GlobalArgs, stored: Option<StoredLogin>) -> Result<Self, CliError> {
        let endpoint_explicit = args.endpoint.is_some();
        let endpoint = args
            .endpoint
            .clone()
            .or_else(|| stored.as_ref().map(|s| s.endpoint.clone()))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let endpoint = endpoint.trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(CliError::usage(format!(
                "invalid --endpoint {endpoint:?}: expected a URL such as https://sigil.example.com or http://127.0.0.1:8080"
            )));
        }
        let stored_endpoint = stored
            .as_ref()
            .map(|s| s.endpoint.trim_end_matches('/').to_string());
        let same = stored.filter(|_| stored_endpoint.as_deref() == Some(endpoint.as_str()));
        let token_explicit = args.token.as_ref().is_some_and(|t| !t.trim().is_empty());
        let token = match args.token.filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(parse_token(&t, "--token or SIGIL_TOKEN")?),
            None => same.as_ref().map(|s| s.token.clone()),
        };
        let org_explicit = args.org.is_some();
        let org = args
            .org
            .or_else(|| same.as_ref().and_then(|s| s.org.clone()))
            .unwrap_or_else(|| DEFAULT_ORG.to_string());
        Ok(Ctx {
            endpoint,
            token,
            org,
            org_explicit,
            endpoint_explicit,
            token_explicit,
            stored_endpoint,
            output: args.output,
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        })
    }

    pub fn json(&self) -> bool {
        self.output == Output::Json
    }

    /// A client with the resolved token; a usage error when there is none.
    pub fn client(&self) -> Result<Client, CliError> {
        let Some(token) = &self.token else {
            return Err(CliError::usage(match &self.stored_endpoint {
                Some(stored) if *stored != self.endpoint => format!(
                    "the stored login is for {stored}, not {0}: pass --token or set SIGIL_TOKEN \
                     for {0}, or run `sigil login --endpoint {0}`",
                    self.endpoint
                ),
                _ => "no token: pass --token, set SIGIL_TOKEN, or run `sigil login` first".into(),
            }));
        };
        Ok(Client::new(&self.endpoint, Some(token.clone()))?)
    }

    /// A client with an explicit token (for `sigil login`).
    pub fn client_with(&self, token: SecretString) -> Result<Client, CliError> {
        Ok(Client::new(&self.endpoint, Some(token))?)
    }

    pub fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

/// A bearer token as given, trimmed; refused (without echoing it) when it
/// holds anything but printable ASCII, such as a newline pasted inside it or
/// a second line in a file: sent as is, it would fail as an unreadable
/// header, far from the cause.
pub fn parse_token(raw: &str, from: &str) -> Result<SecretString, CliError> {
    let t = raw.trim();
    if t.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(SecretString::new(t))
    } else {
        Err(CliError::usage(format!(
            "the token from {from} contains invalid characters (a newline, a space or \
             another character a token never has); pass the token alone, on one line"
        )))
    }
}

/// `<config dir>/sigil/login.json`, e.g. `~/.config/sigil/login.json` on Linux.
pub fn login_path() -> Result<PathBuf, CliError> {
    let dir = dirs::config_dir().ok_or_else(|| {
        CliError::failed("cannot find the user's config directory (set HOME or XDG_CONFIG_HOME)")
    })?;
    Ok(dir.join("sigil").join("login.json"))
}

pub fn load_login() -> Result<Option<StoredLogin>, CliError> {
    let Ok(path) = login_path() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::failed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        CliError::failed(format!(
            "{} is not a valid sigil login file ({e}); run `sigil login` again or `sigil logout`",
            path.display()
        ))
    })
}

/// Writes the login file with mode 0600 (its directory 0700), atomically.
pub fn save_login(login: &StoredLogin) -> Result<PathBuf, CliError> {
    let path = login_path()?;
    let fail = |what: &str, e: std::io::Error| CliError::failed(format!("cannot {what}: {e}"));
    let dir = path
        .parent()
        .ok_or_else(|| CliError::failed("bad login file path"))?;
    std::fs::create_dir_all(dir).map_err(|e| fail(&format!("create {}", dir.display()), e))?;
    let body = serde_json::to_vec_pretty(login)
        .map_err(|e| CliError::failed(format!("cannot encode the login file: {e}")))?;
    let tmp = dir.join(".login.json.tmp");
    let _ = std::fs::remove_file(&tmp);
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
            opts.mode(0o600);
            let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let mut f = opts
            .open(&tmp)
            .map_err(|e| fail(&format!("write {}", tmp.display()), e))?;
        f.write_all(&body)
            .map_err(|e| fail(&format!("write {}", tmp.display()), e))?;
        f.sync_all()
            .map_err(|e| fail(&format!("write {}", tmp.display()), e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| fail(&format!("write {}", path.display()), e))?;
    Ok(path)
}

pub fn remove_login() -> Result<Option<PathBuf>, CliError> {
    let path = login_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Some(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::failed(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: Option<&str>, token: Option<&str>, org: Option<&str>) -> GlobalArgs {
        GlobalArgs {
            endpoint: endpoint.map(String::from),
            token: token.map(String::from),
            org: org.map(String::from),
            output: Output::Table,
        }
    }

    fn stored() -> Option<StoredLogin> {
        Some(StoredLogin {
            endpoint: "https://a.example.com/".into(),
            token: SecretString::new("stored-token"),
            org: Some("acme".into()),
        })
    }

    #[test]
    fn the_stored_login_applies_as_a_whole() {
        let ctx = Ctx::resolve_with(args(None, None, None), stored()).unwrap();
        assert_eq!(ctx.endpoint, "https://a.example.com");
        assert_eq!(ctx.token().unwrap().expose(), "stored-token");
        assert_eq!(ctx.org, "acme");
        assert!(ctx.client().is_ok());
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let ctx = Ctx::resolve_with(
            args(Some("https://a.example.com"), Some("t2"), Some("other")),
            stored(),
        )
        .unwrap();
        assert_eq!(ctx.token().unwrap().expose(), "t2");
        assert_eq!(ctx.org, "other");
    }

    #[test]
    fn another_endpoint_gets_neither_the_stored_token_nor_the_stored_org() {
        let ctx =
            Ctx::resolve_with(args(Some("https://b.example.com"), None, None), stored()).unwrap();
        assert!(ctx.token().is_none());
        assert_eq!(ctx.org, DEFAULT_ORG);
        let e = ctx.client().err().unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains(
                "the stored login is for https://a.example.com, not https://b.example.com"
            ),
            "{e}"
        );
        // With a token for it, the stored org still stays with its endpoint.
        let ctx = Ctx::resolve_with(
            args(Some("https://b.example.com"), Some("t"), None),
            stored(),
        )
        .unwrap();
        assert_eq!(ctx.org, DEFAULT_ORG);
        // Nothing stored: the plain advice.
        let ctx = Ctx::resolve_with(args(None, None, None), None).unwrap();
        let e = ctx.client().err().unwrap();
        assert!(e.to_string().contains("sigil login"), "{e}");
    }

    #[test]
    fn a_token_with_a_newline_inside_is_refused_without_being_echoed() {
        let e = Ctx::resolve_with(args(None, Some("abc\ndef"), None), None)
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(
            msg.contains("invalid characters") && !msg.contains("abc"),
            "{msg}"
        );
        // Surrounding whitespace (a trailing newline from a file) is fine.
        let ctx = Ctx::resolve_with(args(None, Some(" abc.def\n"), None), None).unwrap();
        assert_eq!(ctx.token().unwrap().expose(), "abc.def");
    }
}
