//! Running the server: open the database, migrate, listen, shut down
//! cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use sea_orm::DatabaseConnection;
use tokio::net::{TcpListener, TcpSocket};

use crate::auth::DatabaseBlocklist;
use crate::config::{Config, redact_url};
use crate::state::AppState;
use crate::{app, db};

/// How often expired rows leave the database blocklist.
const REVOCATION_PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// Serves on every CPU: one thread per CPU (`SERVER_THREADS`), each with
/// its own single-threaded event loop, database pool (an equal share of
/// `DATABASE_MAX_CONNECTIONS`) and listening socket on the same address
/// (`SO_REUSEPORT`: the kernel spreads new connections over them). The
/// threads share the tokens, the login throttle, the event bus and the
/// caches that are process-wide, but no scheduler: with tokio's
/// multi-threaded runtime, whose workers hand tasks and wake-ups to each
/// other, the same server spent up to 50 % more CPU per request in the
/// benchmark machine's slow spells, and two single-threaded processes did
/// not (BENCHMARKS.md, "One event loop per CPU").
///
/// Must be called on a current-thread runtime: that thread serves too.
///
/// # Errors
/// Fails when the database cannot be opened or migrated, the address
/// cannot be bound, or a serving thread fails to start.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let threads = config
        .server_threads
        .map_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get), usize::from);
    let per_thread =
        pool_share(db::pool_size(&config.database_url, config.database_max_connections), threads);
    let connection = open_database(&config.database_url, per_thread).await?;
    db::migrate(&connection).await.context("migrations failed")?;
    let address = format!("{}:{}", config.host, config.port);
    let resolved = tokio::net::lookup_host(&address)
        .await
        .ok()
        .and_then(|mut addresses| addresses.next())
        .with_context(|| format!("could not resolve {address}"))?;
    let listener = reuse_port_listener(resolved).with_context(|| format!("could not listen on {address}"))?;
    let local = listener.local_addr()?;
    // The others join the first one's port (which port 0 chose).
    let mut others = Vec::with_capacity(threads - 1);
    for _ in 1..threads {
        others.push(reuse_port_listener(local).with_context(|| format!("could not listen on {local}"))?);
    }
    let shown =
        if config.host == "0.0.0.0" { format!("localhost:{}", local.port()) } else { local.to_string() };
    let banner = format!(
        "storegate is listening on http://{local}\n  GraphiQL:   http://{shown}/graphql\n  REST root:  http://{shown}/api/stores\n  Swagger UI: http://{shown}/api/docs\n"
    );
    let database = redact_url(&config.database_url);

    let state = AppState::new(connection.clone(), config)?;
    tracing::info!(
        blocklist = state.blocklist.backend(),
        "token revocations are kept in the {}",
        state.blocklist.backend()
    );
    let purge = (state.blocklist.backend() == "database")
        .then(|| DatabaseBlocklist::spawn_purge(connection.clone(), REVOCATION_PURGE_INTERVAL));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut serving = Vec::with_capacity(others.len());
    let mut started = Vec::with_capacity(others.len());
    for (index, listener) in others.into_iter().enumerate() {
        let listener = listener.into_std()?;
        let (shared, stop) = (state.clone(), stop_rx.clone());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
        let thread =
            std::thread::Builder::new().name(format!("storegate-{}", index + 1)).spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async move {
                    // Its own pool, so that its sockets wake this thread's loop.
                    let opened = async {
                        let connection = open_database(&shared.config.database_url, per_thread).await?;
                        Ok::<_, anyhow::Error>((connection, TcpListener::from_std(listener)?))
                    };
                    let (connection, listener) = match opened.await {
                        Ok(opened) => {
                            let _ = started_tx.send(Ok(()));
                            opened
                        }
                        Err(error) => {
                            let _ = started_tx.send(Err(error));
                            return Ok(());
                        }
                    };
                    let result =
                        serve_listener(listener, shared.with_database(connection.clone()), stop).await;
                    connection.close().await.ok();
                    result
                })
            })?;
        serving.push(thread);
        started.push(started_rx);
    }
    // Every thread has its pool before any request is served; one that
    // could not open it stops the others and the start.
    for started in started {
        if let Err(error) = started.await.unwrap_or_else(|_| Err(anyhow::anyhow!("a serving thread stopped")))
        {
            let _ = stop_tx.send(true);
            for thread in serving {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
            return Err(error);
        }
    }
    tracing::info!(%database, threads, "storegate listening on {local}");
    // Only now, with every thread serving. A closed stdout (a supervisor
    // that stopped reading) must not stop the server, so write errors are
    // ignored rather than panicking in println!.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut result = serve_listener(listener, state, stop_rx).await;
    for thread in serving {
        let joined = tokio::task::spawn_blocking(move || thread.join()).await?;
        let outcome = joined.unwrap_or_else(|_| Err(anyhow::anyhow!("a serving thread panicked")));
        if let Err(error) = outcome {
            tracing::error!(error = format!("{error:#}"), "a serving thread failed");
            result = result.and(Err(error));
        }
    }
    signal.abort();
    if let Some(purge) = purge {
        purge.abort();
    }
    connection.close().await.ok();
    tracing::info!("storegate stopped");
    result
}

/// Each thread's pool: an equal share of `total`, rounded up, at least one.
fn pool_share(total: u32, threads: usize) -> u32 {
    total.div_ceil(u32::try_from(threads).unwrap_or(u32::MAX)).max(1)
}

async fn open_database(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    db::connect_sized(url, Some(connections))
        .await
        .with_context(|| format!("could not open the database at {}", redact_url(url)))
}

/// A listening socket that other sockets of this process may bind to the
/// same address (Linux lets only the same user do so).
fn reuse_port_listener(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

/// Serves `listener` until `stop` turns true; in-flight requests then get
/// the configured grace to finish, after which the remaining connections
/// are dropped.
async fn serve_listener(
    listener: TcpListener,
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let grace = state.config.shutdown_grace;
    // Client addresses feed the per-address login throttle.
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    // Nagle's algorithm would hold back the tail of a response written in
    // two segments until the client's delayed ACK: ~40 ms on keep-alive.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let mut stopped = stop.clone();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        // An error means the sender is gone, which only happens on the way out.
        let _ = stop.wait_for(|stopping| *stopping).await;
    });
    let deadline = async move {
        let _ = stopped.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::warn!(?grace, "shutdown grace period over; dropping unfinished requests"),
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_shared_equally_and_every_thread_gets_a_connection() {
        assert_eq!(pool_share(4, 2), 2);
        assert_eq!(pool_share(5, 2), 3);
        assert_eq!(pool_share(8, 1), 8);
        assert_eq!(pool_share(2, 4), 1);
    }
}
