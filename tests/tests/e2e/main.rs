//! End-to-end tests: one binary, one module per area. Each test starts real
//! processes (the `sigil` server and CLI, the Terraform provider under real
//! `terraform`); build the binaries first with `cargo build --workspace --bins`.

mod cli;
mod grpc;
mod server;
mod terraform;
