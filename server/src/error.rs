//! The one error type of the server: a code from the shared table (which
//! gives the HTTP status), a message that names the field and the accepted
//! form. The operations layer returns it; REST answers it in the API's JSON
//! shape (`http`), gRPC maps it to a status (`grpc`).
//! 500s are logged with their detail and answered without it.

use sigil_proto::error::ErrorCode;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Every message is built here, and here anything JWT-shaped in it
    /// (an input quoted back) is cut to `eyJ…<redacted>`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: redact_jwts(message.into()),
            field: None,
        }
    }

    /// The field is redacted as a message is: it may be a key of the body.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(redact_jwts(field.into()));
        self
    }

    /// 400 naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message).with_field(field)
    }

    pub fn not_found(what: &str, which: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} {which:?} not found"))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message).with_field(field)
    }

    /// A 500: `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4();
        tracing::error!(error_id = %id, "internal error: {detail}");
        Self::new(
            ErrorCode::Internal,
            format!("internal error (id {id}); see the server log"),
        )
    }

    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!("database unavailable: {detail}");
        Self::new(
            ErrorCode::Unavailable,
            "the server cannot reach its database",
        )
    }
}

/// `text` with every JWT-shaped run replaced by `eyJ…<redacted>`, wherever
/// it starts and however it is percent-encoded ([`sigil_proto::redact`]):
/// an error never hands a pasted credential back, nor puts it in a log line
/// or a stored text. Idempotent.
pub fn redact_jwts(text: String) -> String {
    if let std::borrow::Cow::Owned(redacted) = sigil_proto::redact::redact_jwts(&text) {
        return redacted;
    }
    text
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        crate::store::StoreError::from(e).into()
    }
}

/// A store error that reaches the caller unhandled: the database out of
/// reach is a 503 (clients retry), a duplicate a 409, anything else a 500.
/// Operations that expect a duplicate name the field themselves
/// ([`crate::ops::conflict_on_unique`]).
impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Unavailable(e) => ApiError::unavailable(e),
            StoreError::Unique { table } => ApiError::new(
                ErrorCode::Conflict,
                format!("a conflicting {table} entry already exists"),
            ),
            StoreError::Other(e) => ApiError::internal(e),
        }
    }
}

impl From<sigil_proto::claims::ClaimError> for ApiError {
    fn from(e: sigil_proto::claims::ClaimError) -> Self {
        ApiError::invalid("claims", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shaped_inputs_are_redacted() {
        let e = ApiError::not_found("owner", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln");
        assert_eq!(e.message, "owner \"eyJ…<redacted>\" not found");
        let e = ApiError::invalid("x", "a eyJ b xeyJtail");
        assert_eq!(e.message, "a eyJ…<redacted> b xeyJ…<redacted>");
        // Glued to what precedes it (a username "a" + JWT) or percent-encoded.
        let e = ApiError::invalid("username", "invalid username \"aeyJhbGci.eyJzdWIi.c2ln\"");
        assert_eq!(e.message, "invalid username \"aeyJ…<redacted>\"");
        assert_eq!(ApiError::invalid("x", "plain").message, "plain");
        let once = redact_jwts("u?t=eyJhbGciOi.eyJzdWIi.c2ln&eyJx".into());
        assert_eq!(once, "u?t=eyJ…<redacted>&eyJ…<redacted>");
        assert_eq!(redact_jwts(once.clone()), once);
    }
}
