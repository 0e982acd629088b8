//! What a command can fail with, and how that reaches the user.
//!
//! Exit codes follow clap's convention: 2 for a usage error (a bad or missing
//! flag, something only the user can fix by changing the command line), 1 for
//! an operation that failed (the server said no, the server is unreachable).
//! Messages never contain a token: the server's messages do not, and nothing
//! here formats one.

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
        let prefix = console::style("error:").red().bold().for_stderr();
        match self {
            CliError::Usage(msg) | CliError::Failed(msg) => eprintln!("{prefix} {msg}"),
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
                eprintln!("{prefix} {message} (code {code}, HTTP {status}{field})");
                if let Some(hint) = hint(code) {
                    eprintln!("{} {hint}", console::style("hint:").yellow().for_stderr());
                }
            }
            CliError::Api(other) => eprintln!("{prefix} {other}"),
        }
        ExitCode::from(self.exit_code())
    }
}

fn hint(code: &ErrorCode) -> Option<&'static str> {
    match code {
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
