//! `/v1/orgs/{org}/tokens`: one file per method; the `Idempotency-Key` of issue
//! has its own.

mod idempotency;
mod issue;
mod list;
mod revoke;
mod update;
mod view;
