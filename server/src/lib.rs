//! `sigil-server`: the Sigil server, and the `sigil` CLI in the same binary.
//!
//! # Layout
//! - [`config`]: `sigil server` flags and environment.
//! - [`serve`]: start-up (database, master key, signing keys, bootstrap) and serving.
//! - [`http`]: the REST API; [`http::app`] builds the router from a state.
//! - [`auth`]: bearer JWT → principal, shared by REST and gRPC.
//! - [`grpc`]: the gRPC verification API (`sigil.v1.Verifier`), reflection, health.
//! - [`verify_cache`]: SHA-256(token) → verified signature, so a token seen again skips it.
//! - [`replication`]: news of revocations between replicas (LISTEN/NOTIFY, catch-up).
//! - [`domain`]: keys, JWTs, principals — pure code with time passed in.
//! - [`store`]: SQLite and PostgreSQL behind one API.
//! - [`state`]: what handlers share; [`clock`]: the only reader of the system clock.
//! - [`cli`]: the CLI, which talks to a server only through `sigil_proto::client`.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod http;
pub mod replication;
pub mod serve;
pub mod state;
pub mod store;
pub mod verify_cache;

pub use http::app;
