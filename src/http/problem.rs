//! The HTTP rendering of errors: the status each domain error maps to, its
//! `WWW-Authenticate` / `Retry-After` headers, and RFC 9457 problem+json
//! bodies (docs/API.md §3). Also the errors only HTTP can produce: a method
//! a route does not take, a body over the limit, a wrong media type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::error::{AppError, FieldError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answered over HTTP: a domain error, or one of the transport's own.
#[derive(Debug)]
pub enum HttpError {
    App(AppError),
    /// `allow` lists the route's methods; empty when a layer learns them only
    /// later (axum then adds the `Allow` header itself).
    MethodNotAllowed {
        allow: String,
    },
    PayloadTooLarge,
    UnsupportedMediaType(String),
}

impl From<AppError> for HttpError {
    fn from(error: AppError) -> Self {
        Self::App(error)
    }
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::App(error) => status_of(error),
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    /// The `code` shared by problem+json and GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::App(error) => error.code(),
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Self::App(error) => error.detail(),
            Self::MethodNotAllowed { allow } if allow.is_empty() => {
                "this route does not support the method; see the Allow header".into()
            }
            Self::MethodNotAllowed { allow } => {
                format!("this route does not support the method; allowed: {allow}")
            }
            Self::PayloadTooLarge => "the request body exceeds the 1 MiB limit".into(),
            Self::UnsupportedMediaType(message) => message.clone(),
        }
    }

    /// The `WWW-Authenticate` challenge of a 401.
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            Self::App(AppError::Unauthenticated { token_refused: true, .. }) => {
                Some(r#"Bearer error="invalid_token""#)
            }
            Self::App(AppError::Unauthenticated { .. } | AppError::FreshTokenRequired) => Some("Bearer"),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::App(error) => error.retry_after(),
            _ => None,
        }
    }
}

/// The HTTP status of a domain error.
pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AppError::Unauthenticated { .. } | AppError::FreshTokenRequired => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
    #[schema(nullable = false, value_type = Option<Vec<FieldErrorSchema>>)]
    errors: Option<&'a [FieldError]>,
}

/// One failing input field, reported with all the others at once.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)] // the OpenAPI shape only: the values are the domain's `FieldError`
pub struct FieldErrorSchema {
    /// The field (or query parameter) as the client named it, e.g. `store_id`.
    #[schema(example = "price")]
    field: String,
    #[schema(example = "must be at least 0")]
    message: String,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if let Self::App(error) = &self {
            error.log();
        }
        let status = self.status();
        let problem = Problem {
            r#type: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code(),
            errors: match &self {
                Self::App(AppError::Validation(errors)) => Some(errors),
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = self.challenge() {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Self::MethodNotAllowed { allow } = &self
            && let Ok(value) = HeaderValue::from_str(allow)
            && !allow.is_empty()
        {
            headers.insert(header::ALLOW, value);
        }
        if let Some(seconds) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        HttpError::App(self).into_response()
    }
}
