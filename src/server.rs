//! Running the server: open the database, migrate, listen, shut down
//! cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::auth::DatabaseBlocklist;
use crate::config::{Config, redact_url};
use crate::state::AppState;
use crate::{app, db};

/// How often expired rows leave the database blocklist.
const REVOCATION_PURGE_INTERVAL: Duration = Duration::from_secs(600);

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
    // Client addresses feed the per-address login throttle.
    let grace = state.config.shutdown_grace;
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    // Nagle's algorithm would hold back the tail of a response written in
    // two segments until the client's delayed ACK: ~40 ms on keep-alive.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
    });
    // Once a signal arrives, in-flight requests get `grace` to finish;
    // after that the remaining connections are dropped.
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::warn!(?grace, "shutdown grace period over; dropping unfinished requests"),
    }
    if let Some(purge) = purge {
        purge.abort();
    }
    connection.close().await.ok();
    tracing::info!("storegate stopped");
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
