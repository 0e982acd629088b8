//! Questions on the terminal: confirmations of destructive commands and the
//! small wizards. Prompts draw on stderr, so stdout stays the result. Without
//! a terminal nothing is asked: the command fails with a usage error that
//! names the flag to pass instead.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Password, Select};

use crate::context::Ctx;
use crate::error::CliError;

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

fn prompt_error(e: dialoguer::Error) -> CliError {
    let dialoguer::Error::IO(io) = e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        CliError::failed("cancelled")
    } else {
        CliError::failed(format!("cannot read the answer from the terminal: {io}"))
    }
}

/// Asks before a destructive step. `--yes` skips the question; without a
/// terminal and without `--yes`, refuses rather than guess.
pub fn confirm(ctx: &Ctx, yes: bool, question: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !ctx.interactive {
        return Err(CliError::usage(format!(
            "{question} There is no terminal to confirm on: pass --yes to go ahead."
        )));
    }
    let ok = Confirm::with_theme(&theme())
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(prompt_error)?;
    if ok {
        Ok(())
    } else {
        Err(CliError::failed("cancelled, nothing was changed"))
    }
}

/// The usage error for a value that is needed and could not be asked for.
pub fn missing(what: &str) -> CliError {
    CliError::usage(format!("missing {what} (there is no terminal to ask on)"))
}

/// A line of text; `validate` returns the error to show and ask again.
pub fn input(
    question: &str,
    default: Option<&str>,
    allow_empty: bool,
    validate: impl Fn(&str) -> Result<(), String>,
) -> Result<String, CliError> {
    let theme = theme();
    let mut i = Input::<String>::with_theme(&theme)
        .with_prompt(question)
        .allow_empty(allow_empty)
        .validate_with(|v: &String| validate(v.trim()));
    if let Some(d) = default {
        i = i.default(d.to_string());
    }
    i.interact_text()
        .map(|s| s.trim().to_string())
        .map_err(prompt_error)
}

/// One of `items`; returns its index.
pub fn select(question: &str, items: &[String], default: usize) -> Result<usize, CliError> {
    Select::with_theme(&theme())
        .with_prompt(question)
        .items(items)
        .default(default)
        .interact()
        .map_err(prompt_error)
}

/// A secret, not echoed.
pub fn password(question: &str) -> Result<String, CliError> {
    Password::with_theme(&theme())
        .with_prompt(question)
        .interact()
        .map(|s| s.trim().to_string())
        .map_err(prompt_error)
}
