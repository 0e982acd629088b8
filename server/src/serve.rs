//! Runs the server (being built).
use std::process::ExitCode;

pub fn main(_args: crate::config::ServerArgs) -> ExitCode {
    ExitCode::FAILURE
}
