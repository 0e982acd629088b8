//! Integration tests of the REST API: `app(state).oneshot(request)`, no
//! sockets. Every test body runs twice, on SQLite and on a fresh PostgreSQL
//! database (`SIGIL_TEST_PG`, default the local server), through [`both!`].
//! One test binary for the crate (link time on 2 cores is the cost).
//!
//! `routes/` mirrors the route tree (see its module doc), `forged.rs` attacks
//! authentication, `invariants.rs` the SPEC §2 invariants; JSON snapshots live
//! in `snapshots/`.

// Helpers outside #[test] functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench_smoke;
mod edges;
mod forged;
mod group_commit;
mod hardening;
mod harness;
mod import_cycles;
mod invariants;
mod logging;
mod rights;
mod routes;
mod verification;

pub use harness::*;
