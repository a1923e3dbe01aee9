//! JSON response bodies for both faces, serialized straight into a `Vec`.
//!
//! A response type only (requests are read by `rest::extract::JsonBody`),
//! named apart from `axum::Json` so that nobody takes one for the other.
//! axum's `Json` serializes through the `io::Write` adapter of `BytesMut`:
//! one out-of-line `put_slice`, with its capacity check, for every quote,
//! comma, key and value; `Vec<u8>`'s writer inlines into serde_json's, as
//! in the benchmark's ceiling. Kept because it measured above the 5 % bar
//! on the GraphQL page of 100 (BENCHMARKS.md, "Decisions that shaped
//! performance").

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::error::AppError;

/// Room reserved before serializing: most single-resource bodies fit
/// (a product is about 250 bytes, a store with 20 items about 1 KB), and
/// larger ones grow the buffer by doubling.
const INITIAL_CAPACITY: usize = 1024;

/// A `200 OK` (or the status of a tuple it is part of) with the value as
/// `application/json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonResponse<T>(pub T);

impl<T: Serialize> IntoResponse for JsonResponse<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(INITIAL_CAPACITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => {
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
            }
            // Every body this server sends serializes (no maps with
            // non-string keys): a failure is a bug, answered as a 500.
            Err(error) => AppError::internal(anyhow::Error::new(error).context("serializing a response"))
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    #[tokio::test]
    async fn serializes_the_value_as_application_json() {
        let response =
            JsonResponse(serde_json::json!({ "name": "Tea \"green\"", "price": 1.5 })).into_response();
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(&body[..], br#"{"name":"Tea \"green\"","price":1.5}"#);
    }

    #[tokio::test]
    async fn a_value_that_does_not_serialize_is_a_problem_not_a_panic() {
        let not_json = std::collections::HashMap::from([((1, 2), "a map with tuple keys")]);
        let response = JsonResponse(not_json).into_response();
        assert_eq!(response.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], crate::http::problem::PROBLEM_JSON);
    }
}
