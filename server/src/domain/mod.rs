//! Pure domain code: keys, JWTs, principals and their rights. Time is passed in.
//! Claims, names and durations live in `sigil_proto` so the CLI and the
//! Terraform provider validate exactly as the server does.

pub mod audit_chain;
pub mod jwt;
pub mod keys;
pub mod principal;
