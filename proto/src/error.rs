//! The stable table of error codes, and the JSON error body
//! `{ "error": { "code", "message", "field"? } }`.
//!
//! Clients (the CLI, the Terraform provider) branch on the code, never on the message.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($variant:ident = ($code:literal, $status:literal, $doc:literal),)*) => {
        /// Every error code the API answers with.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
            /// A code this client does not know (a newer server).
            Other(String),
        }

        impl ErrorCode {
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                    ErrorCode::Other(s) => s,
                }
            }

            /// The HTTP status the server answers this code with.
            pub fn status(&self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                    ErrorCode::Other(_) => 500,
                }
            }

            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_string()),
                }
            }

            /// The whole table: (code, status, meaning), for docs and the OpenAPI document.
            pub const TABLE: &'static [(&'static str, u16, &'static str)] = &[$(($code, $status, $doc),)*];
        }
    };
}

error_codes! {
    InvalidInput = ("invalid_input", 400, "A field is missing or malformed; the message names it and the accepted form."),
    Unauthenticated = ("unauthenticated", 401, "No bearer token, or one that is malformed, expired, revoked or otherwise invalid."),
    Forbidden = ("forbidden", 403, "The caller's effective rights do not allow this."),
    Escalation = ("escalation", 403, "The request would grant more than the caller holds."),
    NotFound = ("not_found", 404, "No such object in this org (objects of other orgs are not found either)."),
    MethodNotAllowed = ("method_not_allowed", 405, "The route exists, but not with this method."),
    Conflict = ("conflict", 409, "An object with this name already exists."),
    PayloadTooLarge = ("payload_too_large", 413, "The request body is larger than the server accepts."),
    ClaimsExceedOwner = ("claims_exceed_owner", 422, "A token's claims go beyond its owner's permissions."),
    LifetimeExceeded = ("lifetime_exceeded", 422, "The expiry is beyond what the org or the owner's kind allows."),
    ExpiryExtension = ("expiry_extension", 422, "A token's expiry can be shortened, never extended."),
    IdempotencyMismatch = ("idempotency_mismatch", 422, "The Idempotency-Key was used before with a different request."),
    Unprocessable = ("unprocessable", 422, "The request is well-formed but cannot be carried out."),
    RateLimited = ("rate_limited", 429, "Too many requests of one kind from this client (failed authentications, leak reports); retry later."),
    Internal = ("internal", 500, "An internal error; details are in the server's log."),
    Unavailable = ("unavailable", 503, "The server cannot reach its database."),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ErrorCode::from_code(&s))
    }
}

impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = ErrorCode::TABLE.iter().map(|(c, _, _)| *c).collect();
        schemars::json_schema!({ "type": "string", "enum": codes })
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (code, status, _) in ErrorCode::TABLE {
            let c = ErrorCode::from_code(code);
            assert_eq!(c.as_str(), *code);
            assert_eq!(c.status(), *status);
        }
        assert_eq!(
            ErrorCode::from_code("brand_new"),
            ErrorCode::Other("brand_new".into())
        );
    }
}
