//! `sigil-server`: the Sigil server, and the `sigil` CLI in the same binary.
//!
//! # Layout
//! - [`config`]: `sigil server` flags and environment.
//! - [`serve`]: start-up (database, master key, signing keys, bootstrap) and serving.
//! - [`http`]: the REST API; [`http::app`] builds the router from a state.
//! - [`auth`]: bearer JWT → principal, shared by REST and gRPC.
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
pub mod http;
pub mod serve;
pub mod state;
pub mod store;

pub use http::app;
