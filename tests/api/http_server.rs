//! The real server on a real port (`storegate::server::serve_listener`):
//! request-head timeout, keep-alive, websocket upgrades, the connection
//! and in-flight caps, and graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use storegate::config::Config;
use storegate::server::serve_listener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::TestApp;

/// The longest any test waits for something that must happen.
const PATIENCE: Duration = Duration::from_secs(10);

struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    app: TestApp,
}

impl Server {
    /// A server with a 1 s request-head timeout and whatever `adjust` sets.
    async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let app = TestApp::with_config(|config| {
            config.request_head_timeout = Duration::from_secs(1);
            adjust(config);
        })
        .await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve_listener(listener, app.state.clone(), shutdown));
        Self { address, stop: Some(stop), task, app }
    }

    /// Signals shutdown and waits for `serve_listener` to return.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, &mut self.task).await.expect("the server stops in time").unwrap()
    }
}

/// One HTTP/1.1 connection, kept open for as long as the test holds it.
async fn connect(address: SocketAddr) -> (SendRequest<Empty<Bytes>>, JoinHandle<hyper::Result<()>>) {
    let stream = TcpStream::connect(address).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    (sender, tokio::spawn(connection))
}

/// A GET on `sender`'s connection: status, `Retry-After`, body.
async fn get(sender: &mut SendRequest<Empty<Bytes>>, path: &str) -> (StatusCode, Option<String>, Value) {
    sender.ready().await.unwrap();
    let request = Request::get(path).header("host", "localhost").body(Empty::new()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, retry_after, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Reads until the bytes read so far contain `needle`, or the peer closes.
async fn read_until(stream: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut read = Vec::new();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        while !read.windows(needle.len()).any(|window| window == needle) {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("nothing more within {PATIENCE:?}; read so far: {:?}", String::from_utf8_lossy(&read))
    });
    read
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut read = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut read)).await;
    assert!(closed.is_ok(), "still open after {PATIENCE:?}; read: {:?}", String::from_utf8_lossy(&read));
    read
}

/// A raw HTTP/1.1 response: status line and lower-cased head, and the body
/// as JSON.
fn parse(response: &[u8]) -> (String, Value) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {text:?}"));
    (head.to_ascii_lowercase(), serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_and_so_is_a_silent_connection() {
    let server = Server::start(|_| {}).await;
    let mut half = TcpStream::connect(server.address).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let answer = read_to_close(&mut half).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // The same after a first request on a kept-alive connection.
    let mut second = TcpStream::connect(server.address).await.unwrap();
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let first = read_until(&mut second, br#"{"status":"ok"}"#).await;
    assert!(first.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&first));
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let answer = read_to_close(&mut second).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // Before HTTP/1 is even chosen: not a byte, or half of the HTTP/2 preface.
    let mut silent = TcpStream::connect(server.address).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_empty());
    let mut preface = TcpStream::connect(server.address).await.unwrap();
    preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert!(read_to_close(&mut preface).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_kept_alive_connection_serves_requests_until_it_idles_past_the_head_timeout() {
    let server = Server::start(|_| {}).await;
    let (mut sender, connection) = connect(server.address).await;
    assert_eq!(get(&mut sender, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&mut sender, "/api/stores").await.0, StatusCode::OK);
    // Idle, the connection is waiting for a head: the server closes it.
    let closed = tokio::time::timeout(PATIENCE, connection).await;
    assert!(matches!(closed, Ok(Ok(Ok(())))), "the idle connection was not closed: {closed:?}");
    server.stop().await;
}

#[tokio::test]
async fn websockets_still_upgrade() {
    let server = Server::start(|_| {}).await;
    let mut request = format!("ws://{}/graphql/ws", server.address).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    socket.send(Message::text(json!({ "type": "connection_init" }).to_string())).await.unwrap();
    let ack = tokio::time::timeout(PATIENCE, socket.next()).await.unwrap().unwrap().unwrap();
    let ack: Value = serde_json::from_str(ack.to_text().unwrap()).unwrap();
    assert_eq!(ack["type"], "connection_ack");
    socket.close(None).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_connection_over_the_cap_gets_a_503_and_is_closed() {
    let server = Server::start(|config| config.max_connections = 1).await;
    // The one connection allowed, in use (so certainly accepted).
    let (mut held, held_connection) = connect(server.address).await;
    assert_eq!(get(&mut held, "/healthz").await.0, StatusCode::OK);

    let mut over = TcpStream::connect(server.address).await.unwrap();
    over.write_all(b"GET /api/stores HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (head, body) = parse(&read_to_close(&mut over).await);
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(head.contains("\r\nretry-after: 1\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"), "{head}");
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "{body}");
    // The held connection is unharmed.
    assert_eq!(get(&mut held, "/healthz").await.0, StatusCode::OK);
    // The refusal is counted in this server's own metrics.
    let metrics = server.app.get("/metrics", None).await.text;
    assert!(metrics.contains("http_connections_refused_total 1\n"), "{metrics}");

    // Once it closes, its slot is free again (the server notices the close
    // on its own time, hence the bounded retries).
    drop(held);
    held_connection.await.unwrap().unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (mut sender, _connection) = connect(server.address).await;
        match get(&mut sender, "/healthz").await.0 {
            StatusCode::OK => break,
            status => assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE),
        }
        assert!(tokio::time::Instant::now() < deadline, "the slot was never freed");
        tokio::task::yield_now().await;
    }
    server.stop().await;
}

/// HTTP/2 without TLS (prior knowledge) is served too, and a connection
/// over the cap is answered and closed the same way.
#[tokio::test]
async fn http2_is_served_and_capped_like_http1() {
    let server = Server::start(|config| config.max_connections = 1).await;
    let h2 = |address| async move {
        let stream = TcpStream::connect(address).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
        (sender, tokio::spawn(connection))
    };
    let ask = |mut sender: hyper::client::conn::http2::SendRequest<Empty<Bytes>>| async move {
        let request = Request::get("http://localhost/api/stores").body(Empty::new()).unwrap();
        let response = sender.send_request(request).await.unwrap();
        (response.status(), response.headers().get("retry-after").cloned())
    };
    let (held, _held_connection) = h2(server.address).await;
    assert_eq!(ask(held.clone()).await, (StatusCode::OK, None));
    let (over, over_connection) = h2(server.address).await;
    assert_eq!(ask(over).await, (StatusCode::SERVICE_UNAVAILABLE, Some("1".parse().unwrap())));
    let closed = tokio::time::timeout(PATIENCE, over_connection).await;
    assert!(matches!(closed, Ok(Ok(Ok(())))), "the refused connection was not closed: {closed:?}");
    assert_eq!(ask(held).await.0, StatusCode::OK);
    server.stop().await;
}

/// Sends a login whose body is held back until the server asks for it:
/// once `100 Continue` arrives, the request is in its handler.
async fn held_login(address: SocketAddr) -> (TcpStream, &'static str) {
    const BODY: &str = r#"{"email":"held@example.com","password":"not the password"}"#;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        BODY.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_until(&mut stream, b"\r\n\r\n").await;
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue\r\n"), "{:?}", String::from_utf8_lossy(&interim));
    (stream, BODY)
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_get_a_503_with_retry_after() {
    let server = Server::start(|config| config.max_in_flight_requests = 1).await;
    let (mut held, body) = held_login(server.address).await;

    let (mut sender, _connection) = connect(server.address).await;
    let (status, retry_after, problem) = get(&mut sender, "/api/stores").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(problem["code"], "SERVICE_UNAVAILABLE", "{problem}");
    // Liveness is never shed.
    assert_eq!(get(&mut sender, "/healthz").await.0, StatusCode::OK);

    // The held request finishes normally, and frees its place.
    held.write_all(body.as_bytes()).await.unwrap();
    let (head, answer) = parse(&read_to_close(&mut held).await);
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert_eq!(answer["code"], "UNAUTHENTICATED", "{answer}");
    assert_eq!(get(&mut sender, "/api/stores").await.0, StatusCode::OK);
    server.stop().await;
}

/// A request in its handler when shutdown begins (its body held back until
/// after the signal) is answered; meanwhile new connections are refused.
#[tokio::test]
async fn shutdown_refuses_new_connections_and_finishes_in_flight_requests() {
    let server = Server::start(|_| {}).await;
    let address = server.address;
    let (mut held, body) = held_login(address).await;
    let Server { stop, task, app: _app, .. } = server;
    stop.unwrap().send(()).unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TcpStream::connect(address).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting {PATIENCE:?} after the signal");
        tokio::task::yield_now().await;
    }
    assert!(!task.is_finished(), "the server stopped with a request in flight");
    held.write_all(body.as_bytes()).await.unwrap();
    let (head, _) = parse(&read_to_close(&mut held).await);
    assert!(head.starts_with("http/1.1 401"), "the in-flight request was answered: {head}");
    tokio::time::timeout(PATIENCE, task).await.expect("the server stops").unwrap();
    assert!(TcpStream::connect(address).await.is_err(), "new connections are refused");
}

#[tokio::test]
async fn shutdown_drops_requests_still_running_after_the_grace_period() {
    let server = Server::start(|config| config.shutdown_grace = Duration::from_millis(200)).await;
    let (mut held, _body) = held_login(server.address).await;
    server.stop().await;
    let rest = read_to_close(&mut held).await;
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}
