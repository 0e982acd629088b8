//! The `sigil` binary: `sigil server` runs the server, every other command is the CLI.
fn main() -> std::process::ExitCode {
    sigil_server::cli::main()
}
