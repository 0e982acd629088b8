//! End-to-end tests: one binary, one module per area. Each test starts real
//! processes (the `sigil` server and CLI, the Terraform provider under real
//! `terraform`); build the binaries first with `cargo build --workspace --bins`.

// Helpers outside #[test] functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_chain;
mod cli;
mod cli_habits;
mod cli_power;
mod cli_session;
mod cli_webhooks;
mod console;
mod crash;
mod faults;
mod fuzz;
mod grpc;
mod limits;
mod readme;
mod recovery;
mod replicas;
mod server;
mod shutdown;
mod terraform;
mod terraform_ephemeral;
mod terraform_token;
mod terraform_webhook;
mod webhooks;
