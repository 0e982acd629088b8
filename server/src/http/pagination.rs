//! Pagination: page sizes, opaque cursors, and the page of the wire.

use crate::error::{ApiError, ApiResult};
use crate::ops::PageRequest;
use base64::Engine;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;
/// The longest page of the revocation feed.
pub const MAX_FEED_LIMIT: u32 = 1000;

/// Cursors: the 16 bytes of the last id, base64url without padding (22
/// characters). Every 22-character base64url string decodes (trailing bits
/// are ignored), so the OpenAPI pattern describes exactly what is accepted.
const CURSOR: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
);

/// The OpenAPI pattern of a cursor.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{22}$";

/// The page a list asks for, from its `cursor` and `limit` parameters.
pub fn page_params(cursor: Option<&str>, limit: Option<u32>) -> ApiResult<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after = match cursor {
        None => None,
        Some(c) => {
            let id = (c.len() == 22)
                .then(|| CURSOR.decode(c).ok())
                .flatten()
                .and_then(|b| uuid::Uuid::from_slice(&b).ok())
                .ok_or_else(|| {
                    ApiError::invalid("cursor", "invalid cursor: pass back a next_cursor")
                })?;
            Some(id.to_string())
        }
    };
    Ok(PageRequest {
        after,
        limit: i64::from(limit),
    })
}

/// A page of the operations layer on the wire: items mapped, the next
/// cursor encoded.
pub fn page<T, U>(p: crate::ops::Page<T>, map: impl FnMut(T) -> U) -> sigil_proto::api::Page<U> {
    sigil_proto::api::Page {
        next_cursor: p
            .next_after
            .as_deref()
            .map(|a| match uuid::Uuid::parse_str(a) {
                Ok(id) => CURSOR.encode(id.as_bytes()),
                Err(_) => CURSOR.encode(a),
            }),
        items: p.items.into_iter().map(map).collect(),
    }
}
