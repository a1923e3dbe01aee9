//! Extractors whose rejections are problem+json like every other error.
//! The client's address, which GraphQL reads too, is `crate::http::ClientAddr`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::auth::{Viewer, authenticate};
use crate::domain::error::{AppError, FieldError};
use crate::http::problem::HttpError;
use crate::state::AppState;

/// The caller: `None` when anonymous. A presented token that fails any
/// check rejects the request with 401 before the handler runs.
pub struct Caller(pub Option<Viewer>);

impl Caller {
    pub fn viewer(&self) -> Option<&Viewer> {
        self.0.as_ref()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(Authenticated(viewer)) = parts.extensions.get::<Authenticated>() {
            return Ok(Caller(viewer.clone()));
        }
        authenticate(state, &parts.headers).await.map(Caller)
    }
}

/// The outcome of [`authenticate_every_request`], kept for the handler.
#[derive(Clone)]
struct Authenticated(Option<Viewer>);

/// Authenticates every REST request before routing, so a refused token is a
/// 401 even on public reads (never silently anonymous), and the `Viewer` is
/// built once per request.
pub async fn authenticate_every_request(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request.headers()).await {
        Ok(viewer) => {
            request.extensions_mut().insert(Authenticated(viewer));
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// A resource id from the path. Anything that is not a non-negative 32-bit
/// integer names no resource: 404.
#[derive(utoipa::IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct Id(
    /// The resource's id (anything but a non-negative 32-bit integer names none: 404).
    #[param(minimum = 0, maximum = 2147483647, example = 1)]
    pub i32,
);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound("no such resource".into()))?;
        raw.parse::<i32>()
            .ok()
            .and_then(|id| (id >= 0).then_some(id))
            .map(Id)
            .ok_or_else(|| AppError::NotFound(format!("no resource with id {raw}")))
    }
}

/// A JSON body: 415 for another media type, 400 for malformed JSON, 413 for
/// a body over the limit, 422 naming the field whose value has the wrong type.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(HttpError::UnsupportedMediaType("the request body must be application/json".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::PayloadTooLarge
            } else {
                AppError::BadRequest("the request body could not be read".into()).into()
            }
        })?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(AppError::BadRequest("the request body must be a JSON object".into()).into());
        }
        match parse(&bytes) {
            Ok(value) => Ok(JsonBody(value)),
            // JSON has one kind of number, and to JSON Schema (so to the
            // OpenAPI document) `2080.0` is an integer; serde reads it as a
            // float and refuses it for an integer field. Only when the body
            // is refused, and only if that is why, read it again with such
            // numbers written as integers.
            //
            // A body that is not exactly one well-formed JSON value is a
            // 400, even when a type error in it was met first.
            Err(error) => match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                Err(syntax) => Err(AppError::BadRequest(format!("malformed JSON: {syntax}")).into()),
                Ok(_) => integral_floats_as_integers(&bytes)
                    .and_then(|value| serde_path_to_error::deserialize(value).ok())
                    .map(JsonBody)
                    .ok_or(error.into()),
            },
        }
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => {
                AppError::Validation(vec![FieldError::new(path, type_message(&inner))])
            }
            serde_json::error::Category::Data => AppError::BadRequest(format!(
                "the request body must be a JSON object: {}",
                type_message(&inner)
            )),
            _ => AppError::BadRequest(format!("malformed JSON: {inner}")),
        }
    })?;
    // A body is one JSON value: `{"name":"a"} xyz` is refused, not read
    // as its first value (a deserializer stops at the value's end).
    deserializer.end().map_err(|error| AppError::BadRequest(format!("malformed JSON: {error}")))?;
    Ok(value)
}

/// The body with every number that has a zero fraction (`2080.0`, `1e3`)
/// written as an integer; `None` if it has none (or is not JSON).
fn integral_floats_as_integers(bytes: &[u8]) -> Option<serde_json::Value> {
    fn walk(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(number) if !number.is_i64() && !number.is_u64() => {
                match number.as_f64() {
                    Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => {
                        *value = serde_json::Value::from(float as i64);
                        true
                    }
                    _ => false,
                }
            }
            serde_json::Value::Array(list) => {
                list.iter_mut().fold(false, |changed, item| walk(item) | changed)
            }
            serde_json::Value::Object(map) => {
                map.values_mut().fold(false, |changed, item| walk(item) | changed)
            }
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&mut value).then_some(value)
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// serde's message without its " at line 1 column 9" suffix.
fn type_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::{integral_floats_as_integers, is_json};

    #[test]
    fn json_media_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    #[test]
    fn integral_floats_are_read_as_integers_only_when_present() {
        let value = integral_floats_as_integers(br#"{"year": 2080.0, "list": [1e3, 1.5], "price": 12.99}"#);
        assert_eq!(value, Some(serde_json::json!({"year": 2080, "list": [1000, 1.5], "price": 12.99})));
        assert_eq!(integral_floats_as_integers(br#"{"year": 2080, "price": 12.99}"#), None);
        assert_eq!(integral_floats_as_integers(b"not json"), None);
    }
}
