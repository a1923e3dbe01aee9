//! `Idempotency-Key` on creates (docs/API.md §3.2): a middleware around the
//! `POST` of each collection, so the create handlers stay as they are.
//!
//! With a key, the request is fingerprinted (method, path, body bytes) and
//! the key claimed for the caller (`crate::domain::idempotency`) before the
//! handler runs. The claimant's successful answer is stored and replayed
//! to every retry (status, body, `Location`, and so the `ETag`); a retry
//! while it runs is a 409, the key with another request a 422. A create
//! that fails (any 4xx or 5xx), or a request that is cancelled, releases
//! the key so that the client can retry. Without a key nothing changes.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::conditional::tagged_bytes;
use super::extract::Caller;
use crate::domain::error::AppError;
use crate::domain::idempotency::{self, Claim, StoredAnswer};
use crate::http::problem::HttpError;
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Set on an answer replayed from an earlier request.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The collections whose `POST` creates (and so takes a key).
const CREATES: [&str; 5] = ["/api/stores", "/api/items", "/api/factories", "/api/products", "/api/todos"];

/// The header as the OpenAPI document shows it on each create.
#[derive(utoipa::IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
pub struct IdempotencyKey(
    /// Any string of 1 to 255 characters, unique per intended create. For
    /// 24 hours a retry with the same key and body gets the first answer
    /// again (with `Idempotent-Replayed: true`) and creates nothing; the
    /// same key with another body is a 422; a retry while the first still
    /// runs is a 409. A create that fails frees its key.
    #[param(min_length = 1, max_length = 255, example = "3f1c2a7e-0b7d-4c4e-9d0a-2d5c1e6f8a90")]
    #[allow(dead_code)] // the OpenAPI shape only: the middleware reads the header
    Option<String>,
);

/// The middleware: see the module's documentation.
pub async fn replay_creates(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST
        || !CREATES.contains(&request.uri().path().trim_end_matches('/'))
        || !request.headers().contains_key(&IDEMPOTENCY_KEY)
    {
        return next.run(request).await;
    }
    match idempotent(&state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn idempotent(state: &AppState, request: Request, next: Next) -> Result<Response, HttpError> {
    let (mut parts, body) = request.into_parts();
    let Caller(viewer) = Caller::from_request_parts(&mut parts, state).await?;
    let Some(user_id) = viewer.map(|v| v.user_id) else {
        // Anonymous: the handler answers 401, whatever the key.
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let key = key_of(&parts.headers)?;
    let bytes = Bytes::from_request(Request::new(body), &()).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::PayloadTooLarge
        } else {
            AppError::BadRequest("the request body could not be read".into()).into()
        }
    })?;
    let fingerprint = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    match idempotency::claim(state, user_id, &key, &fingerprint).await? {
        Claim::Answered(answer) => Ok(replay(answer)),
        Claim::InProgress => Err(AppError::Conflict(
            "a request with this Idempotency-Key is still being processed; retry shortly".into(),
        )
        .into()),
        Claim::OtherRequest => Err(AppError::field(
            idempotency::KEY_FIELD,
            "was already used with another request body; use a new key for a new request",
        )
        .into()),
        Claim::Claimed => {
            let guard = Claimed { db: state.db.clone(), user_id, key: Some(key) };
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            Ok(guard.settle(state, response).await)
        }
    }
}

/// The key from the header: 1 to 255 characters of visible text.
fn key_of(headers: &axum::http::HeaderMap) -> Result<String, AppError> {
    let mut values = headers.get_all(&IDEMPOTENCY_KEY).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(AppError::field(idempotency::KEY_FIELD, "must be sent once"));
    };
    let key = value
        .to_str()
        .map_err(|_| AppError::field(idempotency::KEY_FIELD, "must be visible ASCII text"))?
        .to_owned();
    idempotency::validate_key(&key)?;
    Ok(key)
}

/// What a retry must repeat to be the same request: method, path and the
/// exact body bytes.
fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = tagged_bytes(status, answer.body.into_bytes());
    let headers = response.headers_mut();
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// A claimed key, released if the request ends without an answer to keep
/// (a failure, or the request's future dropped: a client gone, a timeout).
struct Claimed {
    db: DatabaseConnection,
    user_id: i32,
    /// `None` once settled.
    key: Option<String>,
}

impl Claimed {
    /// Keeps a successful answer for replay (and answers it); releases the
    /// key after any other.
    async fn settle(mut self, state: &AppState, response: Response) -> Response {
        let Some(key) = self.key.take() else { return response };
        if !response.status().is_success() {
            if idempotency::release(&self.db, self.user_id, &key).await.is_err() {
                tracing::warn!("could not release an idempotency key after a failed create");
            }
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let _ = idempotency::release(&self.db, self.user_id, &key).await;
                return AppError::internal(anyhow::anyhow!("a create's answer could not be read"))
                    .into_response();
            }
        };
        let answer = StoredAnswer {
            status: parts.status.as_u16(),
            location: parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if idempotency::complete(state, self.user_id, &key, answer).await.is_err() {
            // The create happened; only its replay is lost. Free the key
            // rather than leave it "in progress" for a day.
            tracing::warn!("could not store an idempotent create's answer");
            let _ = idempotency::release(&self.db, self.user_id, &key).await;
        }
        Response::from_parts(parts, Body::from(bytes))
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let (db, user_id) = (self.db.clone(), self.user_id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if idempotency::release(&db, user_id, &key).await.is_err() {
                    tracing::warn!("could not release the idempotency key of a cancelled create");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_covers_method_path_and_exact_body() {
        let base = fingerprint("POST", "/api/items", br#"{"name":"a"}"#);
        assert_eq!(base.len(), 64);
        assert_eq!(base, fingerprint("POST", "/api/items", br#"{"name":"a"}"#));
        assert_ne!(base, fingerprint("POST", "/api/stores", br#"{"name":"a"}"#));
        assert_ne!(base, fingerprint("POST", "/api/items", br#"{"name":"b"}"#));
    }
}
