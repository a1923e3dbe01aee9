//! Opening the database: SQLite (the embedded default) or PostgreSQL.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// How long a request may wait for a pooled connection before it gets a 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a lock held by another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a pooled connection may sit idle before it is pinged on checkout.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

/// Opens a pool for `url` with the settings storegate needs.
///
/// # Errors
/// Fails when the database cannot be reached or the URL is not understood.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, None).await
}

/// Like [`connect`], confining PostgreSQL sessions to one schema (tests use
/// a schema each, so they run in parallel on one database).
///
/// # Errors
/// As [`connect`].
pub async fn connect_with(url: &str, pg_schema: Option<&str>) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.acquire_timeout(ACQUIRE_TIMEOUT).connect_timeout(ACQUIRE_TIMEOUT).sqlx_logging(false);
    // Ping only connections idle long enough to have been dropped by the
    // server or a proxy: a ping on every checkout doubles the round trips
    // of a one-query request.
    options.test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    if url.starts_with("sqlite:") {
        // WAL lets readers run beside the one writer; the busy timeout makes
        // concurrent writers queue instead of failing with "database is locked".
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    } else {
        options.max_connections(16).min_connections(1);
        if let Some(schema) = pg_schema {
            options.set_schema_search_path(schema.to_owned());
        }
    }
    Database::connect(options).await
}

/// Applies every pending migration.
///
/// # Errors
/// Fails when a migration fails; the database is left as the failed
/// migration's transaction leaves it.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
