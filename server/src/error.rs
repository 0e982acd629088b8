//! The one error type of the HTTP layer: a code from the shared table, a
//! message that names the field and the accepted form, and one `IntoResponse`.
//! 500s are logged with their detail and answered without it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sigil_proto::error::{ErrorBody, ErrorCode, ErrorDetail};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
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

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                ApiError::unavailable(e)
            }
            _ => ApiError::internal(e),
        }
    }
}

impl From<sigil_proto::claims::ClaimError> for ApiError {
    fn from(e: sigil_proto::claims::ClaimError) -> Self {
        ApiError::invalid("claims", e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (status, axum::Json(body)).into_response()
    }
}

/// Whether a database error is a unique-constraint violation (both backends).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}
