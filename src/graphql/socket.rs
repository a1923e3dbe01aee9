//! The GraphQL websocket at `/graphql/ws` (docs/API.md §4 "Sockets"), driven
//! here rather than by async-graphql-axum so that the session can be held
//! to the same rules as an HTTP request and closed with codes of our own.
//!
//! Both protocols async-graphql knows are spoken: `graphql-transport-ws`
//! (graphql-ws) and the legacy `graphql-ws` (subscriptions-transport-ws).
//!
//! - The token given in `connection_init` is verified as HTTP verifies a
//!   bearer token; a refused one closes the socket with 4403.
//! - Before every operation the token is checked again (expiry with the
//!   HTTP leeway, revocation, deleted user). A refused operation does not
//!   run: it gets an `UNAUTHENTICATED` error and the socket closes with 4401.
//! - While the socket is open, a timer at the token's expiry (plus leeway)
//!   and a periodic re-check (`Config::ws_revalidate_interval`) end every
//!   open operation with that error and close the socket with 4401.
//! - No `connection_init` within `Config::ws_init_timeout` → 4408; a message
//!   over [`BODY_LIMIT_BYTES`] → 1009; more than `Config::ws_max_subscriptions`
//!   operations at once on one socket → 4429; more than
//!   `Config::ws_max_sockets` sockets on the instance → the upgrade is
//!   refused with 503 and `Retry-After`.
//! - Queries and mutations get fresh loaders each, the client's address and
//!   `Config::request_timeout`, as over HTTP. Subscriptions get no loaders:
//!   a cache held for the subscription's lifetime would serve stale rows to
//!   later events, so their resolvers read directly.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_graphql::ServerError;
use async_graphql::http::{ClientMessage, WebSocketProtocols as Protocol};
use async_graphql::parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{FromRef, State, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, MissedTickBehavior, Sleep};
use tokio_stream::StreamMap;
use tracing::Instrument;

use super::AppSchema;
use super::loaders;
use crate::BODY_LIMIT_BYTES;
use crate::auth::tokens::LEEWAY_SECS;
use crate::auth::viewer::{bearer_token, verified_viewer};
use crate::auth::{TokenKind, Viewer};
use crate::domain::error::AppError;
use crate::http::ClientAddr;
use crate::state::AppState;

/// The session's token is no longer valid (expired, revoked, user deleted),
/// or an operation arrived before `connection_ack`.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// The token in `connection_init` was refused.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// No `connection_init` within `Config::ws_init_timeout`.
pub const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// A message that is not one of the protocol's.
pub const CLOSE_BAD_MESSAGE: u16 = 4400;
/// An operation id that is already running on this socket.
pub const CLOSE_DUPLICATE_ID: u16 = 4409;
/// More operations at once than `Config::ws_max_subscriptions`, or a second
/// `connection_init`.
pub const CLOSE_TOO_MANY: u16 = 4429;
/// A message larger than [`BODY_LIMIT_BYTES`] (RFC 6455 "message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// The token could not be checked (the blocklist is unreachable): fail
/// closed, and tell the client to come back (RFC 6455 "try again later").
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Anything else that stops the session on the server's side.
pub const CLOSE_INTERNAL: u16 = 1011;

/// How long a closing socket waits for the client's close in return.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// The read buffer a socket starts with.
const SOCKET_READ_BUFFER_BYTES: usize = 8 * 1024;

/// What a client refused for the socket cap is told to wait, in seconds.
const SOCKETS_RETRY_AFTER_SECS: u64 = 5;

/// The state of `/graphql/ws`: the app, the schema operations run on, and
/// the instance's socket slots.
#[derive(Clone)]
pub struct Sockets {
    app: AppState,
    schema: AppSchema,
    /// One permit per open socket; a socket holds its permit until it
    /// ends, so the count is exact whatever way it ends.
    slots: Arc<Semaphore>,
}

impl Sockets {
    pub fn new(app: AppState, schema: AppSchema) -> Self {
        let slots = Arc::new(Semaphore::new(app.config.ws_max_sockets as usize));
        Self { app, schema, slots }
    }
}

impl FromRef<Sockets> for AppState {
    fn from_ref(sockets: &Sockets) -> Self {
        sockets.app.clone()
    }
}

/// Upgrades `/graphql/ws` when a socket slot is free.
pub async fn websocket(
    State(sockets): State<Sockets>,
    headers: HeaderMap,
    client: ClientAddr,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = requested_protocol(&headers) else {
        let message =
            "a GraphQL websocket needs Sec-WebSocket-Protocol: graphql-transport-ws (or graphql-ws)";
        return super::http::error_response(AppError::BadRequest(message.into()));
    };
    let Ok(permit) = sockets.slots.clone().try_acquire_owned() else {
        tracing::warn!(
            max = sockets.app.config.ws_max_sockets,
            "websocket refused: every socket slot is taken"
        );
        return super::http::error_response(AppError::ServiceUnavailable {
            retry_after_secs: SOCKETS_RETRY_AFTER_SECS,
        });
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // Both bounds: the frame bound refuses a large frame from its
        // header, before its payload is buffered.
        .max_message_size(BODY_LIMIT_BYTES)
        .max_frame_size(BODY_LIMIT_BYTES)
        // tungstenite's 128 KiB default read buffer is filled on every
        // socket: 1,024 idle sockets held 95 MiB (bench/abuse.py). The
        // buffer still grows for a larger message.
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            Session::new(socket, protocol, sockets.app, sockets.schema, client, permit).run()
        })
        .into_response()
}

/// The first protocol the client offers that we speak.
fn requested_protocol(headers: &HeaderMap) -> Option<Protocol> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|offered| Protocol::from_str(offered.trim()).ok())
}

/// Who the socket speaks for, as far as `connection_init` has told.
enum Auth {
    /// No `connection_init` yet.
    Pending,
    Anonymous,
    /// The token is kept to be verified again, the whole way, each time.
    Token(String),
}

/// Why the session stops.
enum End {
    /// Close with this code and reason.
    Close(u16, String),
    /// The client went away (or stopped reading): nothing more to send.
    Gone,
}

impl End {
    fn close(code: u16, reason: impl Into<String>) -> Self {
        Self::Close(code, reason.into())
    }
}

/// One operation's results; `None` marks its end (then `complete`).
type Operation = BoxStream<'static, Option<async_graphql::Response>>;

struct Session {
    socket: WebSocket,
    protocol: Protocol,
    app: AppState,
    schema: AppSchema,
    client: ClientAddr,
    auth: Auth,
    /// Running operations by the client's id; their count is what
    /// `ws_max_subscriptions` bounds.
    operations: StreamMap<String, Operation>,
    /// When the token stops being accepted over HTTP.
    expiry: Option<std::pin::Pin<Box<Sleep>>>,
    _slot: OwnedSemaphorePermit,
}

impl Session {
    fn new(
        socket: WebSocket,
        protocol: Protocol,
        app: AppState,
        schema: AppSchema,
        client: ClientAddr,
        slot: OwnedSemaphorePermit,
    ) -> Self {
        Self {
            socket,
            protocol,
            app,
            schema,
            client,
            auth: Auth::Pending,
            operations: StreamMap::new(),
            expiry: None,
            _slot: slot,
        }
    }

    async fn run(mut self) {
        let End::Close(code, reason) = self.drive().await else { return };
        tracing::debug!(code, reason = %reason, "closing a GraphQL websocket");
        let frame = CloseFrame { code, reason: close_reason(&reason).into() };
        let _ =
            tokio::time::timeout(self.send_timeout(), self.socket.send(Message::Close(Some(frame)))).await;
        // Wait briefly for the client's close in return, so the connection
        // ends with the closing handshake rather than a reset.
        let linger = async {
            if code == CLOSE_TOO_BIG {
                // The rest of the oversized frame cannot be read (that is
                // the point), and closing with it unread resets the
                // connection: give the client a moment to read the close.
                tokio::time::sleep(CLOSE_LINGER / 2).await;
            } else {
                while let Some(Ok(_)) = self.socket.recv().await {}
            }
        };
        let _ = tokio::time::timeout(CLOSE_LINGER, linger).await;
    }

    /// Serves messages, results and timers until the session ends.
    async fn drive(&mut self) -> End {
        let init_deadline = tokio::time::sleep(self.app.config.ws_init_timeout);
        tokio::pin!(init_deadline);
        let every = self.app.config.ws_revalidate_interval;
        let mut revalidate = tokio::time::interval_at(Instant::now() + every, every);
        revalidate.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let authenticated = matches!(self.auth, Auth::Token(_));
            let step = tokio::select! {
                message = self.socket.recv() => self.on_message(message).await,
                Some((id, result)) = self.operations.next(), if !self.operations.is_empty() => {
                    self.on_result(id, result).await
                }
                () = &mut init_deadline, if matches!(self.auth, Auth::Pending) => {
                    Err(End::close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout"))
                }
                () = expired(&mut self.expiry), if authenticated => {
                    Err(self.end_session(AppError::invalid_token("the token has expired"), None).await)
                }
                _ = revalidate.tick(), if authenticated => self.revalidate().await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        match message {
            None | Some(Ok(Message::Close(_))) => Err(End::Gone),
            Some(Err(error)) if too_long(&error) => {
                Err(End::close(CLOSE_TOO_BIG, format!("messages are limited to {BODY_LIMIT_BYTES} bytes")))
            }
            Some(Err(_)) => Err(End::Gone),
            Some(Ok(Message::Text(text))) => self.on_text(text.as_bytes()).await,
            Some(Ok(Message::Binary(bytes))) => self.on_text(&bytes).await,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        }
    }

    async fn on_text(&mut self, text: &[u8]) -> Result<(), End> {
        let Ok(message) = serde_json::from_slice::<ClientMessage>(text) else {
            return Err(End::close(CLOSE_BAD_MESSAGE, "Invalid message received"));
        };
        match message {
            ClientMessage::ConnectionInit { payload } => self.init(payload.unwrap_or_default()).await,
            ClientMessage::Start { id, payload } => self.start(id, payload).await,
            ClientMessage::Stop { id } => {
                // graphql-transport-ws: a `complete` from the client gets
                // no answer; the legacy protocol confirms it.
                if self.operations.remove(&id).is_some()
                    && self.protocol == Protocol::SubscriptionsTransportWS
                {
                    self.send(json!({ "type": "complete", "id": id })).await?;
                }
                Ok(())
            }
            ClientMessage::ConnectionTerminate => Err(End::close(1000, "terminated")),
            ClientMessage::Ping { .. } => self.send(json!({ "type": "pong" })).await,
            ClientMessage::Pong { .. } => Ok(()),
        }
    }

    async fn init(&mut self, payload: Value) -> Result<(), End> {
        if !matches!(self.auth, Auth::Pending) {
            return Err(End::close(CLOSE_TOO_MANY, "Too many initialisation requests"));
        }
        let accepted = match init_token(&payload) {
            Ok(None) => Ok(Auth::Anonymous),
            Ok(Some(token)) => check(&self.app, &token).await.map(|viewer| {
                self.expiry = Some(Box::pin(tokio::time::sleep_until(refused_from(viewer.expires_at))));
                Auth::Token(token)
            }),
            Err(error) => Err(error),
        };
        match accepted {
            Ok(auth) => {
                self.auth = auth;
                self.send(json!({ "type": "connection_ack" })).await
            }
            Err(error) => {
                let code = match &error {
                    AppError::Unauthenticated { .. } => CLOSE_FORBIDDEN,
                    other => close_code(other),
                };
                let reason = error.detail();
                let payload = graphql_error(error);
                if self.protocol == Protocol::SubscriptionsTransportWS {
                    self.send(json!({ "type": "connection_error", "payload": payload })).await?;
                }
                Err(End::Close(code, reason))
            }
        }
    }

    /// Starts an operation once the session's token passes again.
    async fn start(&mut self, id: String, mut request: async_graphql::Request) -> Result<(), End> {
        if matches!(self.auth, Auth::Pending) {
            return Err(End::close(CLOSE_UNAUTHORIZED, "Unauthorized"));
        }
        if self.operations.contains_key(&id) {
            return Err(End::close(CLOSE_DUPLICATE_ID, format!("Subscriber for {id} already exists")));
        }
        let max = self.app.config.ws_max_subscriptions as usize;
        if self.operations.len() >= max {
            return Err(End::close(CLOSE_TOO_MANY, format!("at most {max} operations at once per socket")));
        }
        let viewer = match &self.auth {
            Auth::Token(token) => match check(&self.app, token).await {
                Ok(viewer) => Some(viewer),
                Err(error @ AppError::Unauthenticated { .. }) => {
                    return Err(self.end_session(error, Some(id)).await);
                }
                // The check could not be made (blocklist down): this
                // operation is refused, as an HTTP request would be.
                Err(error) => return self.send_error(&id, &json!(error_response(error))).await,
            },
            _ => None,
        };
        let subscription = operation_type(&mut request) == Some(OperationType::Subscription);
        // Queries and mutations get an operation span like over HTTP; a
        // subscription lives as long as the socket, so it gets none.
        let span =
            if subscription { tracing::Span::none() } else { super::http::operation_span(&mut request) };
        let request = request.data(viewer).data(self.client);
        let results = if subscription {
            self.schema.execute_stream(request).map(Some).boxed()
        } else {
            let request = loaders::install(request, &self.app);
            let (schema, limit) = (self.schema.clone(), self.app.config.request_timeout);
            stream::once(async move {
                tokio::time::timeout(limit, schema.execute(request).instrument(span))
                    .await
                    .unwrap_or_else(|_| error_response(AppError::ServiceUnavailable { retry_after_secs: 1 }))
            })
            .map(Some)
            .boxed()
        };
        self.operations.insert(id, results.chain(stream::once(async { None })).boxed());
        Ok(())
    }

    async fn on_result(&mut self, id: String, result: Option<async_graphql::Response>) -> Result<(), End> {
        match result {
            Some(response) => self.send_next(&id, response).await,
            None => {
                // Forget it now, not at the map's next poll: the count of
                // running operations must be exact when the next arrives.
                self.operations.remove(&id);
                self.send(json!({ "type": "complete", "id": id })).await
            }
        }
    }

    /// The periodic look for revocation or deletion.
    async fn revalidate(&mut self) -> Result<(), End> {
        let Auth::Token(token) = &self.auth else { return Ok(()) };
        match check(&self.app, token).await {
            Ok(_) => Ok(()),
            Err(error) => Err(self.end_session(error, None).await),
        }
    }

    /// Ends every running operation (and `refused`, one that never ran)
    /// with `error` and says how to close.
    async fn end_session(&mut self, error: AppError, refused: Option<String>) -> End {
        let close = End::Close(close_code(&error), error.detail());
        let ids: Vec<String> = refused.into_iter().chain(self.operations.keys().cloned()).collect();
        self.operations.clear();
        let response = json!(error_response(error));
        for id in ids {
            if let Err(end) = self.send_error(&id, &response).await {
                return end;
            }
        }
        close
    }

    /// An error result followed by the end of the operation.
    async fn send_error(&mut self, id: &str, response: &Value) -> Result<(), End> {
        self.send_next(id, response).await?;
        self.send(json!({ "type": "complete", "id": id })).await
    }

    async fn send_next(&mut self, id: &str, response: impl serde::Serialize) -> Result<(), End> {
        let kind = match self.protocol {
            Protocol::GraphQLWS => "next",
            Protocol::SubscriptionsTransportWS => "data",
        };
        self.send(json!({ "type": kind, "id": id, "payload": response })).await
    }

    /// Sends one message; a client that does not take it within the request
    /// timeout is dropped rather than waited for.
    async fn send(&mut self, message: Value) -> Result<(), End> {
        let message = Message::text(message.to_string());
        match tokio::time::timeout(self.send_timeout(), self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }

    fn send_timeout(&self) -> Duration {
        self.app.config.request_timeout
    }
}

/// The bearer token of a `connection_init` payload (`{"Authorization":
/// "Bearer …"}`), checked for form as an HTTP header would be.
fn init_token(payload: &Value) -> Result<Option<String>, AppError> {
    let Some(value) = ["Authorization", "authorization"].iter().find_map(|key| payload.get(key)) else {
        return Ok(None);
    };
    let value =
        value.as_str().ok_or_else(|| AppError::invalid_token("the Authorization value must be a string"))?;
    let mut headers = HeaderMap::new();
    let value = value.parse().map_err(|_| AppError::invalid_token("the Authorization value is malformed"))?;
    headers.insert(header::AUTHORIZATION, value);
    Ok(bearer_token(&headers)?.map(str::to_string))
}

/// The checks of an HTTP request's bearer token, all of them, again.
async fn check(app: &AppState, token: &str) -> Result<Viewer, AppError> {
    let claims = app.tokens.verify(token, TokenKind::Access)?;
    verified_viewer(app, &claims).await
}

/// The first instant HTTP refuses a token expiring at `exp` (Unix seconds):
/// `exp` plus the leeway, plus the second in which it still passes.
fn refused_from(exp: i64) -> Instant {
    let refused_at = u64::try_from(exp).unwrap_or(0).saturating_add(LEEWAY_SECS + 1);
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let remaining = Duration::from_secs(refused_at).saturating_sub(since_epoch);
    // A lifetime beyond what the clock can hold is, for a socket, forever.
    let now = Instant::now();
    now.checked_add(remaining).unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

async fn expired(expiry: &mut Option<std::pin::Pin<Box<Sleep>>>) {
    match expiry {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// Whether the socket failed on a message or frame over the size bound.
/// axum wraps tungstenite's error opaquely; its text is what stays stable
/// (`CapacityError::MessageTooLong`), and a test guards it.
fn too_long(error: &axum::Error) -> bool {
    error.to_string().contains("Message too long")
}

fn close_code(error: &AppError) -> u16 {
    match error {
        AppError::Unauthenticated { .. } => CLOSE_UNAUTHORIZED,
        AppError::Forbidden(_) => CLOSE_FORBIDDEN,
        AppError::ServiceUnavailable { .. } => CLOSE_TRY_AGAIN_LATER,
        _ => CLOSE_INTERNAL,
    }
}

/// A close frame's reason holds at most 123 bytes.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

/// `error` as GraphQL shows it (the conversion also logs what needs it).
fn graphql_error(error: AppError) -> ServerError {
    let error: async_graphql::Error = error.into();
    ServerError { extensions: error.extensions, ..ServerError::new(error.message, None) }
}

/// An operation's result that is only `error` (the HTTP face's
/// `error_response` is an HTTP response; this is the socket's).
fn error_response(error: AppError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![graphql_error(error)])
}

/// The type of the operation a request runs, when its document parses.
fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    super::documents::operation_of(request).map(|operation| operation.ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = "é".repeat(100);
        let reason = close_reason(&long);
        assert!(reason.len() <= 123);
        assert!(long.starts_with(&reason));
        assert_eq!(close_reason("short"), "short");
    }

    #[test]
    fn expiry_deadlines_follow_the_leeway_and_never_overflow() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let deadline = refused_from(now + 10) - Instant::now();
        let expected = Duration::from_secs(10 + LEEWAY_SECS);
        assert!(deadline > expected && deadline <= expected + Duration::from_secs(1), "{deadline:?}");
        assert!(refused_from(now - 3600) <= Instant::now());
        assert!(refused_from(i64::MAX) > Instant::now());
    }

    #[test]
    fn tokens_are_read_from_the_init_payload() {
        assert_eq!(init_token(&json!({})).unwrap(), None);
        assert_eq!(init_token(&json!({ "Authorization": "Bearer abc" })).unwrap().as_deref(), Some("abc"));
        assert_eq!(init_token(&json!({ "authorization": "bearer abc" })).unwrap().as_deref(), Some("abc"));
        assert!(init_token(&json!({ "Authorization": "abc" })).is_err());
        assert!(init_token(&json!({ "Authorization": 7 })).is_err());
    }
}
