//! `sigil-server`: the Sigil server, and the `sigil` CLI in the same binary.
//!
//! # Layout
//! The wire on top, the operations in the middle, the domain and the store
//! below; nothing below [`ops`] knows about HTTP or gRPC, and neither wire
//! layer imports the other.
//! - [`http`]: the REST API; [`http::app`] builds the router from a state.
//!   Handlers extract, call one operation, answer the wire type.
//! - [`grpc`]: the gRPC verification API (`sigil.v1.Verifier`), reflection,
//!   health — over the same operations.
//! - [`ops`]: one function per use case, and the unit of work ([`ops::Uow`])
//!   that opens the transaction, resolves the org, authorizes, collects audit
//!   entries, commits and announces. Its module doc maps every route to its
//!   operation.
//! - [`wire`]: rows and principals to the API types of `sigil_proto::api`.
//! - [`auth`]: bearer JWT → principal, shared by REST and gRPC.
//! - [`domain`]: keys, JWTs, principals and their [`domain::principal::Kind`]
//!   — pure code with time passed in.
//! - [`store`]: SQLite and PostgreSQL behind one API, one module per table,
//!   [`store::StoreError`] sorting driver errors once.
//! - [`keyring`]: the signing keys in memory and their reloading.
//! - [`issue_queue`]: token issues waiting for their group commit.
//! - [`signal`]: how a committed revocation is announced on this replica.
//! - [`replication`]: news of revocations between replicas (LISTEN/NOTIFY,
//!   catch-up), over [`signal`] and [`keyring`].
//! - [`verify_cache`]: SHA-256(token) → verified signature and resolved
//!   principal, so a token seen again is answered from memory;
//!   [`lease`]: when memory may answer, and how a change waits for every
//!   replica; [`last_use`]: last use recorded in batches.
//! - [`delivery`]: webhook deliveries after commit (claimed, signed,
//!   retried); [`expiry`]: `token.expiring`/`token.expired` warnings.
//! - [`state`]: what every layer shares; [`clock`]: the only reader of the
//!   system clock; [`error`]: the one error type.
//! - [`config`], [`serve`]: `sigil server`'s flags and start-up.
//!
//! The CLI is the crate `sigil-cli` (`server/cli`); `src/main.rs` composes it
//! with `sigil server`.

pub mod admin;
pub mod auth;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod expiry;
pub mod grpc;
pub mod http;
pub mod issue_queue;
pub mod keyring;
pub mod last_use;
pub mod lease;
pub mod ops;
pub mod replication;
pub mod serve;
pub mod signal;
pub mod state;
pub mod store;
pub mod verify_cache;
pub mod wire;

pub use http::app;
