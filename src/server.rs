//! Running the server: open the database, migrate, listen, shut down
//! cleanly on SIGINT/SIGTERM.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tower::Service;

use crate::auth::DatabaseBlocklist;
use crate::config::{Config, redact_url};
use crate::domain::error::AppError;
use crate::state::AppState;
use crate::{app, db};

/// How often expired rows leave the database blocklist.
const REVOCATION_PURGE_INTERVAL: Duration = Duration::from_secs(600);
/// How often idempotency keys older than a day leave the database.
const IDEMPOTENCY_PURGE_INTERVAL: Duration = Duration::from_secs(600);
/// An HTTP/2 connection is pinged after this long without a frame, and
/// closed if the ping is not answered within the timeout: dead peers
/// (a vanished NAT entry) do not keep their slot.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Requests one HTTP/2 connection may have open at once.
const H2_MAX_CONCURRENT_STREAMS: u32 = 128;
/// Connections over `MAX_CONNECTIONS` answered with a 503 at once; past
/// that they are closed without an answer.
const MAX_REFUSING: usize = 64;

/// # Errors
/// Fails when the database cannot be opened or migrated, or the address
/// cannot be bound.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let connection = db::connect_sized(&config.database_url, config.database_max_connections)
        .await
        .with_context(|| format!("could not open the database at {}", redact_url(&config.database_url)))?;
    db::migrate(&connection).await.context("migrations failed")?;
    let address = format!("{}:{}", config.host, config.port);
    let listener =
        TcpListener::bind(&address).await.with_context(|| format!("could not listen on {address}"))?;
    let local = listener.local_addr()?;
    let shown =
        if config.host == "0.0.0.0" { format!("localhost:{}", local.port()) } else { local.to_string() };
    tracing::info!(database = %redact_url(&config.database_url), "storegate listening on {local}");
    // A closed stdout (a supervisor that stopped reading) must not stop the
    // server, so write errors are ignored rather than panicking in println!.
    let banner = format!(
        "storegate is listening on http://{local}\n  GraphiQL:   http://{shown}/graphql\n  REST root:  http://{shown}/api/stores\n  Swagger UI: http://{shown}/api/docs\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());

    let state = AppState::new(connection.clone(), config)?;
    tracing::info!(
        blocklist = state.blocklist.backend(),
        "token revocations are kept in the {}",
        state.blocklist.backend()
    );
    let purge = (state.blocklist.backend() == "database")
        .then(|| DatabaseBlocklist::spawn_purge(connection.clone(), REVOCATION_PURGE_INTERVAL));
    let idempotency_purge =
        crate::domain::idempotency::spawn_purge(connection.clone(), IDEMPOTENCY_PURGE_INTERVAL);
    serve_listener(listener, state, shutdown_signal()).await;
    if let Some(purge) = purge {
        purge.abort();
    }
    idempotency_purge.abort();
    connection.close().await.ok();
    tracing::info!("storegate stopped");
    Ok(())
}

/// Serves the application on `listener` until `shutdown` completes, then
/// stops accepting, gives in-flight requests `config.shutdown_grace` to
/// finish, and drops whatever remains.
///
/// Connections go to hyper-util directly rather than through `axum::serve`
/// so that hyper has a timer: without one its request-head timeout never
/// fires, and a client that sends half a head holds its connection forever.
/// A failed `accept` (out of file descriptors) is logged and retried, never
/// the end of the server.
pub async fn serve_listener(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    let router = app(state);
    let builder = Arc::new(http_builder(&config));
    let head_timeout = config.request_head_timeout;
    let open = Arc::new(Semaphore::new(config.max_connections as usize));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            // Finished connections are reaped as they go.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        // Nagle's algorithm would hold back the tail of a response written in
        // two segments until the client's delayed ACK: ~40 ms on keep-alive.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        if let Ok(permit) = open.clone().try_acquire_owned() {
            let connection = serve_connection(
                builder.clone(),
                stream,
                peer,
                router.clone(),
                graceful.watcher(),
                head_timeout,
            );
            connections.spawn(async move {
                connection.await;
                drop(permit);
            });
        } else {
            metrics.record_refused_connection();
            // Answering costs a task and a socket for up to the head
            // timeout; past a few of those at once, closing is the answer.
            if let Ok(permit) = refusing.clone().try_acquire_owned() {
                let connection = refuse_connection(builder.clone(), stream, head_timeout);
                connections.spawn(async move {
                    connection.await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let grace = config.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(?grace, "shutdown grace period over; dropping unfinished requests");
    }
    connections.shutdown().await;
}

/// HTTP/1 and HTTP/2 on one port, with hyper's timers running.
fn http_builder(config: &Config) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The head timeout runs from the moment hyper waits for a request head,
    // so it also closes a keep-alive connection idle for that long.
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(config.request_head_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT)
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
        // Websockets over HTTP/2 (RFC 8441), as `axum::serve` allows.
        .enable_connect_protocol();
    builder
}

/// One accepted connection, served until it closes or the server stops.
async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    watcher: Watcher,
    head_timeout: Duration,
) {
    let first_request = Arc::new(Notify::new());
    let seen = first_request.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        seen.notify_one();
        // Handlers read the peer (login throttle, client address).
        request.extensions_mut().insert(ConnectInfo(peer));
        // A `Router` is always ready: no `poll_ready` needed.
        router.clone().call(request)
    });
    // Upgrades: `/graphql/ws` hands the socket over to the websocket.
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(watcher.watch(connection));
    if first_request_within(connection.as_mut(), &first_request, head_timeout).await {
        log_end(connection.await);
    }
}

/// Answers every request on a connection over the cap with a 503 and
/// closes it: the client learns to retry instead of waiting in a queue.
async fn refuse_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    head_timeout: Duration,
) {
    let first_request = Arc::new(Notify::new());
    let seen = first_request.clone();
    let service = hyper::service::service_fn(move |_request: Request<Incoming>| {
        seen.notify_one();
        let mut response = AppError::ServiceUnavailable { retry_after_secs: 1 }.into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let mut connection = std::pin::pin!(builder.serve_connection(TokioIo::new(stream), service));
    if first_request_within(connection.as_mut(), &first_request, head_timeout).await {
        // One answer is all it gets (HTTP/2 ignores `Connection: close`).
        connection.as_mut().graceful_shutdown();
        log_end(connection.await);
    }
}

/// Drives `connection` until its first request arrives: `true` if it did
/// within `head_timeout` (the caller goes on driving it), `false` if the
/// connection ended or the time ran out (it is then dropped, closing it).
/// hyper's own head timeout starts only once HTTP/1 is chosen; before that
/// (no byte yet, half of the HTTP/2 preface) and on an HTTP/2 connection
/// that opens no stream, only this bounds it.
async fn first_request_within<C>(mut connection: Pin<&mut C>, first: &Notify, head_timeout: Duration) -> bool
where
    C: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>>,
{
    tokio::select! {
        result = connection.as_mut() => {
            log_end(result);
            false
        }
        waited = tokio::time::timeout(head_timeout, first.notified()) => {
            if waited.is_err() {
                tracing::debug!(?head_timeout, "no request on a new connection in time; closing it");
            }
            waited.is_ok()
        }
    }
}

fn log_end(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::trace!(%error, "connection ended with an error");
    }
}

/// A failed `accept`: the peer's own failures are skipped; anything else
/// (out of file descriptors) is logged and waited out, as `axum::serve`
/// does, instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "could not accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
