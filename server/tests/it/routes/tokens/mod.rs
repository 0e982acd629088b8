//! `/v1/orgs/{org}/tokens`: one file per method; the `Idempotency-Key` of issue
//! has its own, and so do derivation (`POST /v1/tokens/attenuate`), leak
//! reports (`POST /v1/leaks`) and token status (views and list filters).

mod attenuate;
mod binding;
mod idempotency;
mod issue;
pub(crate) mod leaks;
mod list;
mod revoke;
mod status;
mod update;
mod view;
