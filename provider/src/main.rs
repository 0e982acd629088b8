//! `terraform-provider-sigil`: Sigil's bots, tokens, revocations and apps as
//! Terraform resources, over tfplugin6 (the `tf-provider` crate).
//!
//! # Layout
//! - [`provider`]: the provider block and configuration (one client, shared).
//! - [`common`]: schema builders, API errors as diagnostics, set comparison, the clock.
//! - One file per resource ([`app`], [`bot`], [`token`], [`token_revocation`])
//!   and per data source (`data_*`).
//!
//! The provider speaks to the server only through `sigil-proto`'s client, and
//! checks claims with the same code the server uses, so a plan fails exactly
//! where an apply would.

mod app;
mod bot;
mod common;
mod data_app;
mod data_bot;
mod data_bots;
mod data_tokens;
mod provider;
mod token;
mod token_revocation;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-sigil {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    // tf-provider appends a captured backtrace to every diagnostic when
    // RUST_BACKTRACE is set: users would get stack traces in their plan output
    // (and Terraform 1.0 takes the word "panicking" in them for a crash). Set
    // before any thread starts, so `Backtrace::capture` reads it first.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(tf_provider::serve(
            "sigil",
            provider::SigilProvider::default(),
        ))
}
