//! The `sigil` CLI. It speaks to the server only through `sigil_proto::client`.
//! `sigil server` is the one command that runs in-process: it starts the server.
//!
//! # Layout
//! - [`context`]: the global flags, resolved against the environment and the
//!   file `sigil login` writes, into a [`context::Ctx`] every command receives.
//! - [`error`]: [`error::CliError`] and its exit codes (1 for a failed
//!   operation, 2 for a usage error).
//! - [`output`]: tables, key/value views, JSON, human times and colour.
//! - [`prompt`]: terminal detection, confirmations and the small wizards.
//! - one module per command group: [`bots`], [`tokens`], [`apps`], [`orgs`],
//!   [`keys`], [`session`] (`login`, `logout`, `whoami`).

pub mod apps;
pub mod bots;
pub mod context;
pub mod error;
pub mod keys;
pub mod orgs;
pub mod output;
pub mod prompt;
pub mod session;
pub mod tokens;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

use context::{Ctx, GlobalArgs};
use error::CliError;

const AFTER_HELP: &str = "\
Examples:
  sigil login --endpoint https://sigil.example.com
  sigil bots create steve --description \"CI bot\" --permission 'machines:get,list:*'
  sigil tokens issue -u steve -e 100d -l ci
  sigil tokens list -u steve
  sigil tokens revoke 0196f3c2-7b1e-7c4a-9d55-1f2e3a4b5c6d

Connection settings come from --endpoint/--token/--org, else SIGIL_ENDPOINT/SIGIL_TOKEN/SIGIL_ORG,
else the file written by `sigil login`. NO_COLOR turns colour off.";

#[derive(Debug, Parser)]
#[command(
    name = "sigil",
    version,
    about = "Bots and their long-lived, scoped tokens.",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Sigil server.
    #[command(after_help = "\
Examples:
  # SQLite in ./sigil-data, on 127.0.0.1:8080; prints the owner token on first start
  sigil server

  # Write the bootstrap token to a file (0600) instead of printing it
  sigil server --bootstrap-token-file ./owner.jwt

  # A replica on PostgreSQL, with the gRPC verification API on its own port
  SIGIL_MASTER_KEY=$(cat master.key) sigil server --listen 0.0.0.0:8080 \\
      --database-url postgres://sigil@db/sigil --grpc-listen 0.0.0.0:9090")]
    Server(crate::config::ServerArgs),
    /// Create, list, view and delete bots, and set their identities.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil bots create steve --description \"CI bot\" --permission 'machines:get,list:*'
  sigil bots list
  sigil bots view steve
  sigil bots update-identity steve --service slack --id U024BE7LH
  sigil bots delete steve --yes      # revokes every token of the bot"
    )]
    Bots(bots::BotsCommand),
    /// Issue, list, view and revoke tokens.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil tokens issue -u steve -e 100d -l ci
  sigil tokens list -u steve
  sigil tokens view ci
  sigil tokens update ci --expiry 1h
  sigil tokens revoke \"$LEAKED_JWT\" --yes   # an id, a label or the JWT itself"
    )]
    Tokens(tokens::TokensCommand),
    /// Create, list and delete apps (tokens can be scoped to one app).
    #[command(
        subcommand,
        after_help = "Examples:
  sigil apps create web
  sigil apps list
  sigil tokens issue -u deployer --app web -e 7d
  sigil apps delete web --yes"
    )]
    Apps(apps::AppsCommand),
    /// Create and list organizations.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil orgs create acme --max-token-lifetime 90d
  sigil orgs list
  sigil bots list --org acme         # or SIGIL_ORG=acme"
    )]
    Orgs(orgs::OrgsCommand),
    /// Manage the server's signing keys.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil keys rotate
  sigil keys rotate -o json | jq -r .kid"
    )]
    Keys(keys::KeysCommand),
    /// Show who the current token belongs to, its org and effective claims.
    #[command(
        after_help = "Examples:\n  sigil whoami\n  sigil whoami -o json\n  SIGIL_TOKEN=\"$TOKEN\" sigil whoami"
    )]
    Whoami,
    /// Check a token against a server and remember both for later commands.
    Login(session::LoginArgs),
    /// Forget what `sigil login` stored.
    #[command(after_help = "Examples:\n  sigil logout")]
    Logout,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    if let Err(e) = crate::config::preload_config_file() {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Server(args) => return crate::serve::main(args),
        other => other,
    };
    let ctx = match Ctx::resolve(cli.global) {
        Ok(ctx) => ctx,
        Err(e) => return e.report(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return CliError::Failed(format!("cannot start the async runtime: {e}")).report(),
    };
    match runtime.block_on(run(&ctx, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match command {
        Command::Server(_) => Ok(()),
        Command::Bots(c) => bots::run(ctx, c).await,
        Command::Tokens(c) => tokens::run(ctx, c).await,
        Command::Apps(c) => apps::run(ctx, c).await,
        Command::Orgs(c) => orgs::run(ctx, c).await,
        Command::Keys(c) => keys::run(ctx, c).await,
        Command::Whoami => session::whoami(ctx).await,
        Command::Login(args) => session::login(ctx, args).await,
        Command::Logout => session::logout(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            let name = format!("{path} {}", cmd.get_name());
            // Leaves and groups alike (`sigil tokens -h` shows examples
            // too), and the examples are of this very command.
            let path = name.trim();
            let examples = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .and_then(|h| h.split_once("Examples:").map(|(_, e)| e.to_string()))
                .unwrap_or_default();
            if !name.ends_with(" help") && !name.contains(" server") && !examples.contains(path) {
                missing.push(name.clone());
            }
            for sub in cmd.get_subcommands() {
                walk(sub, name.clone(), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), String::new(), &mut missing);
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
    }
}
