//! The domain's one error type. Each face maps it: REST to RFC 9457
//! problem+json (`crate::http::problem`), GraphQL to an error whose
//! `extensions.code` is [`AppError::code`] (in `src/graphql/error.rs`).
//! Errors that only HTTP can produce (405, 413, 415) are not here; they
//! belong to `crate::http::problem::HttpError`.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql has a
//! blanket `From<T: Display>` for its error type, which would silently drop
//! our `code`. Without `Display`, `?` in a resolver goes through the face's
//! own conversion and keeps it.

use sea_orm::DbErr;
use serde::Serialize;

/// One failing input field, reported with all the others at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field (or query parameter) as the client named it, e.g. `store_id`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    /// No usable credentials. `token_refused` is true when a token was
    /// presented and rejected (adds `error="invalid_token"` to REST's challenge).
    Unauthenticated {
        message: String,
        token_refused: bool,
    },
    FreshTokenRequired,
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// A conditional write (`If-Match` over REST) whose expected version is
    /// no longer the current one: nothing was changed.
    PreconditionFailed(String),
    Validation(Vec<FieldError>),
    RateLimited {
        retry_after_secs: u64,
    },
    ServiceUnavailable {
        retry_after_secs: u64,
    },
    /// A bug or an unexpected failure: logged in full, shown as a bare 500.
    Internal(anyhow::Error),
}

impl AppError {
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::Unauthenticated { message: message.into(), token_refused: true }
    }

    pub fn login_required() -> Self {
        Self::Unauthenticated { message: "this action requires a bearer token".into(), token_refused: false }
    }

    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("no {what} with id {id}"))
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The `code` shared by problem+json and GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::Unauthenticated { .. } => "UNAUTHENTICATED",
            Self::FreshTokenRequired => "FRESH_TOKEN_REQUIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::PreconditionFailed(_) => "PRECONDITION_FAILED",
            Self::Validation(_) => "BAD_USER_INPUT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The human-readable detail. Never includes internal causes.
    pub fn detail(&self) -> String {
        match self {
            Self::BadRequest(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::PreconditionFailed(m) => m.clone(),
            Self::Unauthenticated { message, .. } => message.clone(),
            Self::FreshTokenRequired => "this action needs a fresh token: log in again to get one".into(),
            Self::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("invalid input: {}", fields.join(", "))
            }
            Self::RateLimited { retry_after_secs } => {
                format!("too many attempts; retry in {retry_after_secs} s")
            }
            Self::ServiceUnavailable { .. } => "the service is temporarily unavailable; retry shortly".into(),
            Self::Internal(_) => "an internal error occurred".into(),
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } | Self::ServiceUnavailable { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// Logs what an operator must see (internal causes, shed load); every
    /// face calls this once when it renders the error.
    pub fn log(&self) {
        match self {
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error")
            }
            Self::ServiceUnavailable { .. } => {
                tracing::warn!("answered 503: a dependency is down or the server is shedding load")
            }
            _ => {}
        }
    }
}

impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        if matches!(error, DbErr::RecordNotUpdated) {
            // The row was deleted between our read and our write.
            return Self::NotFound("the resource no longer exists".into());
        }
        if rejected_text(&error) {
            return Self::BadRequest("text must be valid UTF-8 without NUL characters".into());
        }
        if database_unavailable(&error) {
            // The pool could not hand out a connection or the server went
            // away: a client should retry, not read a driver message.
            tracing::warn!(error = %error, "database unavailable");
            Self::ServiceUnavailable { retry_after_secs: 5 }
        } else {
            Self::Internal(error.into())
        }
    }
}

/// PostgreSQL refuses NUL characters in text (SQLSTATE 22021) even though
/// JSON allows `\u0000`: that is the client's input, not our failure.
fn rejected_text(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match error {
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            matches!(inner.as_ref(), sea_orm::sqlx::Error::Database(db) if db.code().as_deref() == Some("22021"))
        }
        _ => false,
    }
}

/// Whether a database error means "the database is unreachable or busy
/// right now" (worth a retry) rather than "this statement is wrong".
fn database_unavailable(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Tls(_) => {
                    true
                }
                Sqlx::Protocol(_) => true,
                Sqlx::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    // PostgreSQL: class 08 (connection), 57P01-03 (shutdown,
                    // cannot connect now); SQLite: 5/6 (busy/locked).
                    code.starts_with("08") || code.starts_with("57P") || code == "5" || code == "6"
                }
                _ => false,
            }
        }
        _ => false,
    }
}

pub type AppResult<T> = Result<T, AppError>;
