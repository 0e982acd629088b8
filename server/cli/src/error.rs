//! What a command can fail with, and how that reaches the user.
//!
//! Exit codes follow clap's convention: 2 for a usage error (a bad or missing
//! flag, something only the user can fix by changing the command line), 1 for
//! an operation that failed (the server said no, the server is unreachable).
//! Messages never contain a token: everything printed here goes through
//! [`redact`], which replaces anything shaped like a JWT, since a server
//! message or a "no such name" error may echo a JWT the user pasted where a
//! name, an id or a label was expected.

use sigil_proto::client::ClientError;
use sigil_proto::ErrorCode;
use std::process::ExitCode;

#[derive(Debug)]
pub enum CliError {
    /// Bad or missing input on the command line: exit 2.
    Usage(String),
    /// The server refused, or could not be reached: exit 1.
    Api(ClientError),
    /// Anything else that failed: exit 1.
    Failed(String),
}

impl CliError {
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError::Usage(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        CliError::Failed(msg.into())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Api(_) | CliError::Failed(_) => 1,
        }
    }

    /// The message, on stderr, then the exit code.
    pub fn report(&self) -> ExitCode {
        self.report_at(None)
    }

    /// [`CliError::report`] for a command that spoke to `endpoint`: errors
    /// that come from the endpoint itself (a path such as `/v1` in it, or
    /// `https://` to a plain-HTTP server) get a hint that says how to fix it.
    pub fn report_at(&self, endpoint: Option<&str>) -> ExitCode {
        let code = self.report_message();
        if let CliError::Api(e) = self {
            if let Some(hint) = endpoint_hint(e, endpoint) {
                eprintln!(
                    "{} {}",
                    console::style("hint:").yellow().for_stderr(),
                    redact(&hint)
                );
            }
        }
        code
    }

    fn report_message(&self) -> ExitCode {
        let prefix = console::style("error:").red().bold().for_stderr();
        match self {
            CliError::Usage(msg) | CliError::Failed(msg) => eprintln!("{prefix} {}", redact(msg)),
            CliError::Api(ClientError::Api {
                status,
                code,
                message,
                field,
            }) => {
                let field = field
                    .as_deref()
                    .map(|f| format!(", field {f}"))
                    .unwrap_or_default();
                let message = redact(message);
                let field = redact(&field);
                eprintln!("{prefix} {message} (code {code}, HTTP {status}{field})");
                if let Some(hint) = hint(code, &message) {
                    eprintln!("{} {hint}", console::style("hint:").yellow().for_stderr());
                }
            }
            CliError::Api(other) => eprintln!("{prefix} {}", redact(&other.to_string())),
        }
        ExitCode::from(self.exit_code())
    }
}

/// What a redacted JWT is printed as.
pub const REDACTED_JWT: &str = sigil_proto::redact::REDACTED;

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The length of the JWT-shaped text at the start of `s`
/// (`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), if there is one.
fn jwt_len(s: &[u8]) -> Option<usize> {
    if !s.starts_with(b"eyJ") {
        return None;
    }
    let run = |from: usize| s[from..].iter().take_while(|b| is_b64url(**b)).count();
    let mut i = 3;
    let header = run(i);
    if header == 0 {
        return None;
    }
    i += header;
    if s.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    let payload = run(i);
    if payload == 0 {
        return None;
    }
    i += payload;
    if s.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    Some(i + run(i))
}

/// Whether `s`, trimmed, is one JWT-shaped string and nothing else.
pub fn is_jwt(s: &str) -> bool {
    let s = s.trim();
    jwt_len(s.as_bytes()) == Some(s.len())
}

/// `msg` with every JWT-shaped run replaced by [`REDACTED_JWT`], by the
/// rule the server applies too ([`sigil_proto::redact`]).
pub fn redact(msg: &str) -> String {
    sigil_proto::redact::redact_jwts(msg).into_owned()
}

/// `(base, path)` of an endpoint URL: `http://h:8080/v1/` → (`http://h:8080`, `/v1`).
fn split_endpoint(endpoint: &str) -> (&str, &str) {
    let endpoint = endpoint.trim_end_matches('/');
    let after_scheme = endpoint.find("://").map(|i| i + 3).unwrap_or(0);
    match endpoint[after_scheme..].find('/') {
        Some(i) => endpoint.split_at(after_scheme + i),
        None => (endpoint, ""),
    }
}

/// The hint for an error caused by the endpoint rather than the command.
fn endpoint_hint(e: &ClientError, endpoint: Option<&str>) -> Option<String> {
    match e {
        // Every route the client calls exists, so "no such route" means the
        // endpoint carries a path the client's routes were appended to.
        ClientError::Api {
            code: ErrorCode::NotFound,
            message,
            ..
        } if message == "no such route" => {
            let (base, path) = split_endpoint(endpoint?);
            (!path.is_empty()).then(|| {
                format!("drop `{path}` from the endpoint: use {base} (the CLI adds /v1 itself)")
            })
        }
        // rustls reading a plain-HTTP answer as a TLS record.
        ClientError::Transport { endpoint, detail }
            if detail.contains("InvalidContentType") && endpoint.starts_with("https://") =>
        {
            Some(format!(
                "the server speaks plain HTTP; use http://{}",
                &endpoint["https://".len()..]
            ))
        }
        _ => None,
    }
}

fn hint(code: &ErrorCode, message: &str) -> Option<&'static str> {
    match code {
        // The cap of human users' tokens (the server's message names it).
        ErrorCode::LifetimeExceeded if message.contains("human") => Some(
            "a bot's tokens may live longer: `sigil bots create NAME`, then `sigil tokens issue -u NAME -e 90d`",
        ),
        ErrorCode::Unauthenticated => Some(
            "the token was refused (missing, expired, revoked or for another server); pass --token, set SIGIL_TOKEN or run `sigil login`",
        ),
        ErrorCode::Forbidden | ErrorCode::Escalation => {
            Some("run `sigil whoami` to see the claims of the token in use")
        }
        _ => None,
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        CliError::Api(e)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failed(m) => f.write_str(m),
            CliError::Api(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJl-_x";

    #[test]
    fn the_human_lifetime_cap_suggests_a_bot() {
        let cap = "tokens of human users live at most 1d; issue a bot token for long-lived use";
        assert!(hint(&ErrorCode::LifetimeExceeded, cap)
            .unwrap()
            .contains("sigil bots create"));
        assert!(hint(
            &ErrorCode::LifetimeExceeded,
            "org \"a\" caps token lifetimes at 7d"
        )
        .is_none());
    }

    #[test]
    fn endpoint_mistakes_get_a_hint() {
        let no_route = ClientError::Api {
            status: 404,
            code: ErrorCode::NotFound,
            message: "no such route".into(),
            field: None,
        };
        assert_eq!(
            endpoint_hint(&no_route, Some("http://127.0.0.1:8080/v1/")).as_deref(),
            Some(
                "drop `/v1` from the endpoint: use http://127.0.0.1:8080 (the CLI adds /v1 itself)"
            )
        );
        assert_eq!(
            endpoint_hint(&no_route, Some("http://127.0.0.1:8080")),
            None
        );
        assert_eq!(endpoint_hint(&no_route, None), None);
        let tls = ClientError::Transport {
            endpoint: "https://127.0.0.1:8080".into(),
            detail: "error sending request: received corrupt message of type InvalidContentType"
                .into(),
        };
        assert_eq!(
            endpoint_hint(&tls, None).as_deref(),
            Some("the server speaks plain HTTP; use http://127.0.0.1:8080")
        );
        let refused = ClientError::Transport {
            endpoint: "https://127.0.0.1:9".into(),
            detail: "connection refused".into(),
        };
        assert_eq!(endpoint_hint(&refused, None), None);
    }

    #[test]
    fn jwts_are_redacted_wherever_they_are() {
        assert_eq!(
            redact(&format!(
                "no token has the id or label \"{JWT}\" in org default"
            )),
            "no token has the id or label \"eyJ…<redacted>\" in org default"
        );
        assert_eq!(redact(JWT), REDACTED_JWT);
        assert_eq!(
            redact(&format!("{JWT} and {JWT}.")),
            "eyJ…<redacted> and eyJ…<redacted>."
        );
        // An empty signature is still a JWT (alg none); the dot after it is
        // left, as the end of a sentence would be.
        assert_eq!(redact("x eyJhbGc.eyJzdWIi. y"), "x eyJ…<redacted>. y");
        // Wherever it starts and however a URL encodes it (the server's rule).
        assert_eq!(
            redact(&format!("see https://x/?t%3D{}", JWT.replace('.', "%2E"))),
            "see https://x/?t%3DeyJ…<redacted>"
        );
        // Text without `eyJ`, and what was redacted before, are left alone.
        for keep in ["eyj.abc", "key J", "é eyJ…<redacted> ü"] {
            assert_eq!(redact(keep), keep);
        }
    }
}
