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
//! - [`domain`]: keys, JWTs, principals and their [`domain::principal::Kind`],
//!   the audit chain, the webhook address policy and signatures — pure code
//!   with time passed in.
//! - [`store`]: SQLite and PostgreSQL behind one API, one module per table,
//!   [`store::StoreError`] sorting driver errors once; the SQLite data dir's
//!   lock and checks ([`store::data_dir`]).
//! - [`replica`]: what one replica holds in memory — key ring, verification
//!   cache, the lease protocol, revocation signal, last uses, the issue and
//!   leak queues, the delivery slots. It imports neither [`state`] nor
//!   [`ops`].
//! - [`jobs`]: every background loop, one file each (lease renewal, last-use
//!   flush, peer news, webhook delivery, expiry warnings, janitor, leak
//!   drain), started by [`jobs::start`] and stopped and joined together.
//! - [`state`]: what every layer shares; [`clock`]: the only reader of the
//!   system clock; [`error`]: the one error type.
//! - [`config`]: every setting — flags, [`config::Settings`], defaults,
//!   timeouts; [`serve`]: `sigil server`'s start-up and shutdown;
//!   [`admin`]: `sigil admin`.
//!
//! # Where a new piece goes
//! - A periodic job: a file in [`jobs`] (`run(state, stop)`), one line in
//!   [`jobs::start`].
//! - A middleware: `http/middleware.rs` for every router (tests' too);
//!   `serve/timeouts.rs` for the served router only.
//! - A setting: [`config`] alone (field, default, flag, one line in
//!   [`config::settings`]).
//! - A route: its handler in `http/<resource>.rs`, its operation in
//!   `ops/<resource>.rs` (and a row in the table of [`ops`]), its tests in
//!   `server/tests/it/routes/<resource>/`, on both backends (`both!`).
//! - No file may import one that imports it back (`server/tests/it/import_cycles.rs`):
//!   shared pieces go down a layer, or are passed in.
//!
//! The CLI is the crate `sigil-cli` (`server/cli`); `src/main.rs` composes it
//! with `sigil server`.

pub mod admin;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod http;
pub mod jobs;
pub mod ops;
pub mod replica;
pub mod serve;
pub mod state;
pub mod store;
pub mod wire;

pub use http::app;
