//! sigil-server (being built).
pub mod cli;
pub mod config;
pub mod serve;
