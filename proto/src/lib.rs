//! `sigil-proto`: everything of Sigil that crosses the wire.
//!
//! # Layout
//! - [`names`]: org, app, bot and service names, parsed once at the edge.
//! - [`claims`]: `scope:action:specific` claims and the subset check that keeps
//!   tokens from escalating. The server, the CLI and the Terraform provider all
//!   use this one implementation, so a plan fails exactly where the server would.
//! - [`duration`]: the duration and expiry syntax of the spec (`100d`, `1h30m`, RFC 3339).
//! - [`rules`]: sizes and syntax of free-text fields (labels, descriptions,
//!   identities, reasons) and the lifetime bounds, shared by server, CLI and provider.
//! - [`error`]: the stable table of error codes and the JSON error body.
//! - [`api`]: REST request and response types.
//! - [`secret`]: [`secret::SecretString`], whose `Debug` never shows the secret.
//! - [`redact`]: JWT-shaped text found and cut wherever it stands, percent-encoded or not.
//! - [`client`]: the typed async HTTP client (feature `client`).
//! - [`v1`]: the generated gRPC verification API (`sigil.v1.Verifier`).
//! - `verifier` (feature `verifier`): offline verification for resource servers.

pub use ipnet;
pub mod api;
pub mod claims;
#[cfg(feature = "client")]
pub mod client;
pub mod duration;
pub mod error;
pub mod names;
pub mod redact;
pub mod rules;
pub mod secret;
#[cfg(feature = "verifier")]
pub mod verifier;

/// The generated gRPC types and services of `proto/sigil/v1/verifier.proto`.
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod v1 {
    tonic::include_proto!("sigil.v1");

    /// Encoded file descriptor set, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("sigil_v1_descriptor");
}

pub use claims::{Claim, ClaimSet};
pub use duration::{parse_duration, Expiry};
pub use error::{ErrorBody, ErrorCode};
pub use secret::SecretString;
