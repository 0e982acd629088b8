//! `sigil-cli`: the `sigil` command line. It speaks to a server only through
//! `sigil_proto::client`, and never links the server.
//!
//! `sigil server` is nonetheless one command of the same tree: the tree is
//! generic over the server's flags ([`Cli<S>`](Cli), [`Command::Server`]),
//! and the binary (`server/src/main.rs`) instantiates it with the real ones
//! and hands [`main`] the function that runs the server:
//!
//! ```text
//! sigil_cli::main::<ServerArgs>(sigil_server::serve::main)
//! ```
//!
//! So there is one clap tree, `server` included, and `sigil --help`,
//! `sigil completion` and `sigil man` all see every command and flag.
//!
//! # Layout
//! - this file: the command tree ([`Cli`], [`Command`]) and [`main`], which
//!   parses, hands `server` to the server and runs everything else.
//! - [`context`]: the global flags, resolved against the environment and the
//!   file `sigil login` writes, into a [`context::Ctx`] every command receives.
//! - [`error`]: [`error::CliError`] and its exit codes (1 for a failed
//!   operation, 2 for a usage error); JWT redaction of every message.
//! - [`output`]: key/value views, JSON, human times, notes and colour.
//! - [`table`]: the table engine of every list (`tokens`, `bots`, `apps`,
//!   `orgs`): columns, fitting the terminal, cutting with `…`.
//! - [`prompt`]: terminal detection, confirmations and the small wizards.
//! - one module per command group: [`bots`], [`tokens`] (itself split into
//!   flags, the `--scope`/`--allow` compiler, the wizard, the list columns and
//!   the resolution of ids, labels and pasted JWTs), [`apps`], [`orgs`],
//!   [`users`], [`keys`], [`webhooks`], [`session`] (`login`, `logout`,
//!   `whoami`).
//! - [`completion`] and [`man`]: `sigil completion SHELL` and `sigil man`,
//!   generated from the tree itself; they need neither a server nor a login.
//! - [`commands_without_examples`]: the rule that every `-h` shows examples
//!   of its own command, which tests check on the composed tree.

pub mod apps;
pub mod audit;
pub mod bots;
pub mod completion;
pub mod context;
pub mod error;
pub mod ids;
pub mod keys;
pub mod man;
pub mod orgs;
pub mod output;
pub mod prompt;
pub mod session;
pub mod table;
pub mod tokens;
pub mod users;
pub mod webhooks;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::io::IsTerminal;
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
pub struct Cli<S: Args, A: Subcommand> {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command<S, A>,
}

/// Every command. `S` is the flags of `sigil server` and `A` the `sigil
/// admin` commands (run on the server host, against its database), which
/// this crate does not know: the binary that composes the tree gives them.
#[derive(Debug, Subcommand)]
pub enum Command<S: Args, A: Subcommand> {
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
    Server(S),
    /// On the server host, with its database and master key: recover the owner.
    #[command(
        subcommand,
        after_help = "Examples:
  # Locked out (the bootstrap token expired)? On the server host:
  sigil admin owner-token --data-dir /var/lib/sigil > owner.jwt
  SIGIL_MASTER_KEY=$(cat master.key) sigil admin owner-token --database-url postgres://sigil@db/sigil"
    )]
    Admin(A),
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
    /// Issue, list, view, derive and revoke tokens; report leaked ones.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil tokens issue -u steve -e 100d -l ci
  sigil tokens list -u steve
  sigil tokens view ci
  sigil tokens update ci --expiry 1h
  sigil tokens revoke 0196f3c2 --yes         # a unique start of an id is enough
  sigil tokens revoke \"$LEAKED_JWT\" --yes   # an id, a label or the JWT itself
  sigil tokens list --status revoked --expiring-within 14d
  sigil tokens attenuate --claim 'machines:get:*' -e 1h   # a narrower child of SIGIL_TOKEN
  sigil tokens report-leak --source \"$URL\" < found.txt  # anyone may report a leak"
    )]
    Tokens(tokens::TokensCommand),
    /// Create, list, view, update and delete users (humans), and issue their tokens.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil users create ada@example.com --permission 'machines:get,list:*'
  sigil users list
  sigil users view ada@example.com
  sigil users token ada@example.com ttl 1h       # as drpcli users token
  sigil users delete ada@example.com --yes"
    )]
    Users(users::UsersCommand),
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
    /// Create, list and update organizations.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil orgs create acme --max-token-lifetime 90d
  sigil orgs list
  sigil orgs update acme --expiry-warning 7d
  sigil bots list --org acme         # or SIGIL_ORG=acme"
    )]
    Orgs(orgs::OrgsCommand),
    /// Create, list, view, update, delete and test the org's webhooks, and read their delivery log.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil webhooks create https://hooks.example.com/sigil --event token.expiring   # prints the secret, once
  sigil webhooks list
  sigil webhooks test 0196f3c2                 # a unique start of an id is enough
  sigil webhooks deliveries 0196f3c2
  sigil webhooks delete 0196f3c2 --yes"
    )]
    Webhooks(webhooks::WebhooksCommand),
    /// Manage the server's signing keys.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil keys rotate
  sigil keys rotate -o json | jq -r .kid"
    )]
    Keys(keys::KeysCommand),
    /// List the org's audit log and verify its hash chain.
    #[command(
        subcommand,
        after_help = "Examples:
  sigil audit list --last 20
  sigil audit verify             # exits 1 and names the first entry that does not match"
    )]
    Audit(audit::AuditCommand),
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
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = "Examples:
  sigil completion bash > ~/.local/share/bash-completion/completions/sigil
  sigil completion zsh > \"${fpath[1]}/_sigil\"     # then restart zsh
  sigil completion fish > ~/.config/fish/completions/sigil.fish
  source <(sigil completion bash)                  # this shell only")]
    Completion(completion::CompletionArgs),
    /// Print the man page (roff), or write one page per command with --dir.
    #[command(after_help = "Examples:
  sigil man | man -l -
  sigil man --dir /usr/local/share/man/man1 && man sigil-tokens-issue")]
    Man(man::ManArgs),
}

/// Entry point of the binary: parses the command line with the tree whose
/// `server` command takes `S` and `admin` command `A`, runs `sigil server`
/// with `serve`, `sigil admin …` with `admin` (given the global flags), and
/// every other command here.
pub fn main<S: Args, A: Subcommand>(
    serve: impl FnOnce(S) -> ExitCode,
    admin: impl FnOnce(A, &GlobalArgs) -> ExitCode,
) -> ExitCode {
    let cli = parse_args::<S, A>();
    // The commands that need no connection settings: a broken login file or
    // a bad SIGIL_ENDPOINT must not stop them.
    let done = match cli.command {
        Command::Server(args) => return serve(args),
        Command::Admin(c) => return admin(c, &cli.global),
        Command::Completion(args) => completion::run(&args, Cli::<S, A>::command()),
        Command::Man(args) => man::run(&args, Cli::<S, A>::command()),
        other => return run_client(cli.global, other),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// The command line, parsed. Help printed to a pipe or a file is not wrapped
/// (on a terminal it fits the terminal): each example stays on one line,
/// whole, for `grep` and for copying.
fn parse_args<S: Args, A: Subcommand>() -> Cli<S, A> {
    let mut cmd = Cli::<S, A>::command();
    if !std::io::stdout().is_terminal() {
        cmd = cmd.term_width(0);
    }
    let matches = cmd.get_matches();
    Cli::<S, A>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The commands that speak to a server (or to the login file).
fn run_client<S: Args, A: Subcommand>(global: GlobalArgs, command: Command<S, A>) -> ExitCode {
    let ctx = match Ctx::resolve(global) {
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
        Err(e) => e.report_at(Some(&ctx.endpoint)),
    }
}

async fn run<S: Args, A: Subcommand>(ctx: &Ctx, command: Command<S, A>) -> Result<(), CliError> {
    match command {
        // Handled by `main` before any connection setting is resolved.
        Command::Server(_) | Command::Admin(_) | Command::Completion(_) | Command::Man(_) => Ok(()),
        Command::Bots(c) => bots::run(ctx, c).await,
        Command::Tokens(c) => tokens::run(ctx, c).await,
        Command::Users(c) => users::run(ctx, c).await,
        Command::Apps(c) => apps::run(ctx, c).await,
        Command::Orgs(c) => orgs::run(ctx, c).await,
        Command::Keys(c) => keys::run(ctx, c).await,
        Command::Audit(c) => audit::run(ctx, c).await,
        Command::Webhooks(c) => webhooks::run(ctx, c).await,
        Command::Whoami => session::whoami(ctx).await,
        Command::Login(args) => session::login(ctx, args).await,
        Command::Logout => session::logout(ctx),
    }
}

/// The commands of `cmd`'s tree (itself included) whose `-h` shows no
/// example of that very command, as `sigil tokens issue` in `Examples:`.
/// `help` and `server` (whose flags are the server's) are not checked.
pub fn commands_without_examples(cmd: &clap::Command) -> Vec<String> {
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
    walk(cmd, String::new(), &mut missing);
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands in for the server's flags, which this crate does not know; the
    /// binary's own tests run the same checks on the real tree.
    #[derive(Debug, Args)]
    pub(crate) struct StandIn {
        /// Address to listen on.
        #[arg(long)]
        listen: Option<String>,
    }

    /// Stands in for the server's `admin` commands.
    #[derive(Debug, Subcommand)]
    pub(crate) enum StandInAdmin {
        /// Recover the owner.
        #[command(after_help = "Examples:\n  sigil admin owner-token")]
        OwnerToken,
    }

    pub(crate) type TestCli = Cli<StandIn, StandInAdmin>;

    pub(crate) fn tree() -> clap::Command {
        TestCli::command()
    }

    #[test]
    fn the_command_tree_is_consistent() {
        tree().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        let missing = commands_without_examples(&tree());
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
    }

    #[test]
    fn completion_and_man_parse_without_connection_settings() {
        let cli = TestCli::try_parse_from(["sigil", "completion", "zsh"]).unwrap();
        assert!(matches!(cli.command, Command::Completion(_)));
        let cli = TestCli::try_parse_from(["sigil", "man", "--dir", "x"]).unwrap();
        assert!(matches!(cli.command, Command::Man(_)));
        assert!(TestCli::try_parse_from(["sigil", "completion", "tcsh"]).is_err());
    }
}
