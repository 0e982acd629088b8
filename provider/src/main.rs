//! `terraform-provider-sigil`: Sigil's bots, tokens, revocations and apps as
//! Terraform resources, and its ephemeral tokens, over tfplugin6 6.8.
//!
//! # Layout
//! - [`protocol`]: the plugin protocol layer (6.8, tonic + prost): answers
//!   the schema and ephemeral-resource RPCs itself, forwards the rest to
//!   the `tf-provider` crate's server, which serves the resources below.
//! - [`ephemeral`]: the ephemeral resources (`sigil_token`,
//!   `sigil_derived_token`).
//! - [`provider`]: the provider block and configuration (one client, shared).
//! - [`resource`]: the protocol plumbing every resource and data source shares
//!   (schema from a field table, read with "gone" vs "unsure", import, plans of
//!   new objects, destroy), written once over the [`resource::Object`] and
//!   [`resource::Lookup`] traits.
//! - [`common`]: the client handle, API errors as diagnostics, the "gone" vs
//!   "unsure" decision on a 404, state ↔ API conversions.
//! - [`clock`]: the clock and RFC 3339.
//! - [`validate`]: plan-time rules, all of them `sigil-proto`'s.
//! - One file per resource ([`app`], [`bot`], [`token`], [`token_revocation`],
//!   [`webhook`]) and per data source (`data_*`): only what is its own.
//! - [`docs`]: `terraform-provider-sigil docs`, the registry docs generated
//!   from the schema.
//!
//! The provider speaks to the server only through `sigil-proto`'s client, and
//! checks claims with the same code the server uses, so a plan fails exactly
//! where an apply would.

mod app;
mod bot;
mod clock;
mod common;
mod data_app;
mod data_bot;
mod data_bots;
mod data_tokens;
mod docs;
mod ephemeral;
mod protocol;
mod provider;
mod resource;
mod token;
mod token_revocation;
mod validate;
mod webhook;

fn main() -> anyhow::Result<()> {
    // Terraform starts the plugin without arguments; `docs` is for developers.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("docs") {
        // Reported plainly: anyhow's `Debug` would add a backtrace.
        if let Err(e) = docs::run(&args[1..]) {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
        return Ok(());
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-sigil {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    // tf-provider appends a captured backtrace to every diagnostic when
    // RUST_BACKTRACE is set: users would get stack traces in their plan output
    // (and Terraform 1.0 takes the word "panicking" in them for a crash). Set
    // before any thread starts, so `Backtrace::capture` reads it first.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    // Before any thread starts too: it sets what tf-provider reads.
    let prepared = protocol::prepare()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(protocol::serve(prepared, common::Shared::default()))
}
