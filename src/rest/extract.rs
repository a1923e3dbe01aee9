//! Extractors whose rejections are problem+json like every other error.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderName, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::auth::{Viewer, authenticate};
use crate::error::{AppError, FieldError};
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

/// The client's address, when the server knows it: the socket's peer, or,
/// with `TRUSTED_CLIENT_IP_HEADER`, the address the proxy in front puts in
/// that header (see [`ClientAddrLayer`]). Address headers a client sends
/// itself (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, ...) are never
/// read. In-process tests have no peer, so `None` unless they add a
/// `ConnectInfo` extension. Used by the login and sign-up throttles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    fn peer(extensions: &Extensions) -> Self {
        ClientAddr(extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
    }

    /// The address `header` names, else the peer's. The last value counts
    /// (and in a list, its last element): a proxy that appends rather than
    /// replaces puts its own observation last, after anything the client
    /// sent.
    fn resolve(header: &HeaderName, headers: &HeaderMap, extensions: &Extensions) -> Self {
        let named = headers
            .get_all(header)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|value| parse_address(value.trim()));
        match named {
            Some(address) => ClientAddr(Some(address)),
            None => {
                tracing::debug!(header = %header, "client address header missing or unparseable; using the peer");
                Self::peer(extensions)
            }
        }
    }
}

/// An IP address, also as `1.2.3.4:port` or `[v6]:port`.
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientAddr>().copied().unwrap_or_else(|| Self::peer(&parts.extensions)))
    }
}

/// With `TRUSTED_CLIENT_IP_HEADER` set, resolves every request's
/// [`ClientAddr`] from that header once, before any other layer, and puts
/// it in the request's extensions for the extractor (and logs) to read.
/// Unset, no layer is needed: the extractor reads the peer itself.
#[derive(Clone)]
pub struct ClientAddrLayer {
    header: HeaderName,
}

impl ClientAddrLayer {
    pub fn new(header: HeaderName) -> Self {
        Self { header }
    }
}

impl<S> Layer<S> for ClientAddrLayer {
    type Service = ResolveClientAddr<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResolveClientAddr { inner, header: self.header.clone() }
    }
}

#[derive(Clone)]
pub struct ResolveClientAddr<S> {
    inner: S,
    header: HeaderName,
}

impl<S, B> Service<axum::http::Request<B>> for ResolveClientAddr<S>
where
    S: Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: axum::http::Request<B>) -> Self::Future {
        let client = ClientAddr::resolve(&self.header, request.headers(), request.extensions());
        request.extensions_mut().insert(client);
        self.inner.call(request)
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
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(AppError::UnsupportedMediaType("the request body must be application/json".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("the request body could not be read".into())
            }
        })?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(AppError::BadRequest("the request body must be a JSON object".into()));
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
                Err(syntax) => Err(AppError::BadRequest(format!("malformed JSON: {syntax}"))),
                Ok(_) => integral_floats_as_integers(&bytes)
                    .and_then(|value| serde_path_to_error::deserialize(value).ok())
                    .map(JsonBody)
                    .ok_or(error),
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
    use super::{ClientAddr, Extensions, HeaderMap, HeaderName, integral_floats_as_integers, is_json};
    use axum::extract::ConnectInfo;
    use std::net::{IpAddr, SocketAddr};

    fn resolve(values: &[&str]) -> Option<IpAddr> {
        let header = HeaderName::from_static("fly-client-ip");
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&header, value.parse().unwrap());
        }
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo("10.0.0.1:443".parse::<SocketAddr>().unwrap()));
        ClientAddr::resolve(&header, &headers, &extensions).0
    }

    #[test]
    fn the_trusted_header_names_the_client_else_the_peer_does() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(resolve(&["198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(resolve(&[" 2001:db8::1 "]), ip("2001:db8::1"));
        assert_eq!(resolve(&["198.51.100.1:8080"]), ip("198.51.100.1"));
        assert_eq!(resolve(&["[2001:db8::2]:8080"]), ip("2001:db8::2"));
        // What a proxy appends comes last.
        assert_eq!(resolve(&["203.0.113.9", "198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(resolve(&["203.0.113.9, 198.51.100.2"]), ip("198.51.100.2"));
        assert_eq!(resolve(&[]), ip("10.0.0.1"));
        assert_eq!(resolve(&["unknown"]), ip("10.0.0.1"));
        assert_eq!(resolve(&["198.51.100.1, garbage"]), ip("10.0.0.1"));
    }

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
