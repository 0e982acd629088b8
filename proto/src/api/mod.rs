//! REST request and response types of `/v1`, one file per resource; every
//! type is re-exported here, so `sigil_proto::api::X` names them all. Times
//! are RFC 3339 on the wire. The field schemas of the OpenAPI document are
//! `schema.rs`.

mod feeds;
mod orgs;
mod principals;
mod schema;
mod session;
mod tokens;
mod webhooks;

pub use feeds::*;
pub use orgs::*;
pub use principals::*;
pub use schema::{ref_parameter_schema, CLAIM_PATTERN, DURATION_PATTERN};
pub use session::*;
pub use tokens::*;
pub use webhooks::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One page of a list; pass `next_cursor` back as `cursor` for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Query of any other list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}
