//! Errors produced outside our handlers (unknown routes, a method a route
//! does not take, a body over the limit) still reach clients as
//! problem+json, with their `Allow` / `WWW-Authenticate` headers kept.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::error::AppError;
use crate::http::problem::HttpError;

/// Fallback for paths no route matches.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such route".into())
}

/// Rewrites a bare error response (no JSON body) into problem+json, keeping
/// its `WWW-Authenticate` and `Retry-After`; any other response is returned
/// as it is.
pub fn bare_error_as_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || has_json_body(&response) {
        return response;
    }
    let error: HttpError = match status {
        StatusCode::METHOD_NOT_ALLOWED => HttpError::MethodNotAllowed { allow: allow_of(&response) },
        StatusCode::PAYLOAD_TOO_LARGE => HttpError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            HttpError::UnsupportedMediaType("the request body must be application/json".into())
        }
        other => app_error_for(other).into(),
    };
    let mut problem = error.into_response();
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

/// The domain error whose rendering stands for a bare `status`.
fn app_error_for(status: StatusCode) -> AppError {
    match status {
        StatusCode::BAD_REQUEST => AppError::BadRequest("the request is malformed".into()),
        StatusCode::NOT_FOUND => AppError::NotFound("no such route".into()),
        StatusCode::UNPROCESSABLE_ENTITY => AppError::Validation(Vec::new()),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            AppError::ServiceUnavailable { retry_after_secs: 1 }
        }
        _ if status.is_client_error() => AppError::BadRequest(
            status.canonical_reason().unwrap_or("the request was refused").to_lowercase(),
        ),
        _ => AppError::internal(anyhow::anyhow!("bare {status} response from a layer")),
    }
}

fn has_json_body(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
}

fn allow_of(response: &Response) -> String {
    response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}
