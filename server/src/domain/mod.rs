//! Pure domain code: keys, JWTs, principals and their rights. Time is passed in.
//! Claims, names and durations live in `sigil_proto` so the CLI and the
//! Terraform provider validate exactly as the server does.

pub mod audit_chain;
pub mod jwt;
pub mod keys;
pub mod principal;
pub mod webhook;

/// A new row id: UUIDv7, so ids sort by creation time.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
