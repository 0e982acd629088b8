//! `sigil keys rotate`: a new signing key. Old keys keep verifying the tokens
//! they signed until those expire.

use clap::Subcommand;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, now};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Start signing new tokens with a new key; tokens already issued stay valid.
    #[command(
        after_help = "Examples:\n  sigil keys rotate\n  sigil keys rotate -o json | jq -r .kid"
    )]
    Rotate,
}

pub async fn run(ctx: &Ctx, cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Rotate => {
            let key = ctx.client()?.rotate_keys().await?;
            if ctx.json() {
                return output::print_json(&key);
            }
            println!(
                "New signing key {} (created {}).",
                key.kid,
                output::when(key.created_at, now())
            );
            output::note("Tokens signed by older keys stay valid until they expire.");
            Ok(())
        }
    }
}
