//! One error type for the whole service. REST renders it as RFC 9457
//! `application/problem+json`; GraphQL renders it as an error whose
//! `extensions.code` uses the same vocabulary (docs/API.md §3).
//!
//! `AppError` deliberately does not implement `Display`: async-graphql has a
//! blanket `From<T: Display>` for its error type, which would silently drop
//! our `code`. Without `Display`, `?` in a resolver goes through our own
//! `From<AppError>` below and keeps it.

use async_graphql::ErrorExtensions;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Serialize;

/// One failing input field, reported with all the others at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field (or query parameter) as the client named it, e.g. `store_id`.
    #[schema(example = "price")]
    pub field: String,
    #[schema(example = "must be at least 0")]
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
    MethodNotAllowed {
        allow: String,
    },
    Conflict(String),
    PayloadTooLarge,
    UnsupportedMediaType(String),
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

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated { .. } | Self::FreshTokenRequired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `code` shared by problem+json and GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::Unauthenticated { .. } => "UNAUTHENTICATED",
            Self::FreshTokenRequired => "FRESH_TOKEN_REQUIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::Conflict(_) => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
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
            | Self::UnsupportedMediaType(m) => m.clone(),
            Self::Unauthenticated { message, .. } => message.clone(),
            Self::FreshTokenRequired => "this action needs a fresh token: log in again to get one".into(),
            // Layers that produce a bare 405 learn the allowed methods only
            // later, when axum adds the `Allow` header itself.
            Self::MethodNotAllowed { allow } if allow.is_empty() => {
                "this route does not support the method; see the Allow header".into()
            }
            Self::MethodNotAllowed { allow } => {
                format!("this route does not support the method; allowed: {allow}")
            }
            Self::PayloadTooLarge => "the request body exceeds the 1 MiB limit".into(),
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

    fn log(&self) {
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

/// An RFC 9457 problem, the body of every REST error (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Always `about:blank`: the status and `code` say what happened.
    #[schema(example = "about:blank")]
    r#type: &'static str,
    /// The status's reason phrase.
    #[schema(example = "Not Found")]
    title: &'a str,
    #[schema(minimum = 400, maximum = 599, example = 404)]
    status: u16,
    /// What went wrong, for people.
    #[schema(example = "no store with id 42")]
    detail: String,
    #[schema(schema_with = crate::openapi::problem_code)]
    code: &'static str,
    /// Validation errors (`422`): every failing field at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    errors: Option<&'a [FieldError]>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let problem = Problem {
            r#type: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code(),
            errors: match &self {
                Self::Validation(errors) => Some(errors),
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::Unauthenticated { token_refused: true, .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            Self::Unauthenticated { .. } | Self::FreshTokenRequired => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::MethodNotAllowed { allow } if !allow.is_empty() => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, value);
                }
            }
            _ => {}
        }
        if let Some(seconds) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.log();
        let code = error.code();
        let fields = match &error {
            AppError::Validation(errors) => Some(
                errors
                    .iter()
                    .map(|e| FieldError::new(snake_to_camel(&e.field), e.message.clone()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let message = match &fields {
            Some(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                format!("invalid input: {}", names.join(", "))
            }
            None => error.detail(),
        };
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let Some(fields) = &fields {
                let list: Vec<async_graphql::Value> = fields
                    .iter()
                    .map(|f| {
                        let mut map = async_graphql::indexmap::IndexMap::new();
                        map.insert(async_graphql::Name::new("field"), f.field.clone().into());
                        map.insert(async_graphql::Name::new("message"), f.message.clone().into());
                        async_graphql::Value::Object(map)
                    })
                    .collect();
                extensions.set("fields", list);
            }
        })
    }
}

/// REST speaks snake_case, GraphQL camelCase; field errors follow each face.
pub fn snake_to_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_camel_case() {
        assert_eq!(snake_to_camel("store_id"), "storeId");
        assert_eq!(snake_to_camel("capacity_per_month"), "capacityPerMonth");
        assert_eq!(snake_to_camel("name"), "name");
    }
}
