//! The `sigil` binary: one command tree, composed here. `sigil server` is
//! this crate's (its flags, [`ServerArgs`], and [`sigil_server::serve::main`]);
//! `sigil admin …` is this crate's too ([`AdminCommand`], run on the server
//! host against its database); every other command is `sigil-cli`'s, which
//! speaks to a server only through the wire crate and never links this one.

use sigil_server::admin::AdminCommand;
use sigil_server::config::ServerArgs;
use std::process::ExitCode;

fn main() -> ExitCode {
    // `--config FILE` / `SIGIL_CONFIG` fill the server's environment before
    // clap reads it, so the file's settings act as `SIGIL_…` variables.
    if let Err(e) = sigil_server::config::preload_config_file() {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    sigil_cli::main::<ServerArgs, AdminCommand>(
        sigil_server::serve::main,
        sigil_server::admin::main,
    )
}

/// The checks of `sigil-cli`'s tree, on the real one: `server` with its real
/// flags, as `sigil --help`, the completion scripts and the man pages see it.
#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    type Cli = sigil_cli::Cli<ServerArgs, AdminCommand>;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        let missing = sigil_cli::commands_without_examples(&Cli::command());
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
    }

    #[test]
    fn completion_and_man_pages_know_the_server_flags() {
        let bash =
            sigil_cli::completion::script(sigil_cli::completion::Shell::Bash, Cli::command());
        let bash = String::from_utf8(bash).unwrap();
        assert!(
            bash.contains("server") && bash.contains("--database-url"),
            "the server's flags are missing from the bash script"
        );
        let pages = sigil_cli::man::pages(Cli::command());
        let (_, server) = pages
            .iter()
            .find(|(name, _)| name == "sigil-server.1")
            .unwrap();
        let server = String::from_utf8_lossy(server);
        assert!(server.contains("database\\-url"), "{server}");
        assert!(
            pages
                .iter()
                .any(|(name, _)| name == "sigil-admin-owner-token.1"),
            "no man page for sigil admin owner-token"
        );
        assert!(
            bash.contains("owner-token"),
            "admin is missing from the bash script"
        );
    }
}
