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

/// The PostgreSQL pool's size when `DATABASE_MAX_CONNECTIONS` is not set:
/// twice the CPUs, at least 4.
///
/// Every connection is a backend process competing for the same few cores;
/// past about two per core they add context switches, not throughput: on
/// the benchmark machine 4 connections served more requests than 16, with
/// a lower p99, on every PostgreSQL read measured (BENCHMARKS.md). The floor
/// keeps a few connections for a database across a network, where requests
/// wait on round trips rather than on CPUs; set the variable for such a
/// deployment.
pub fn default_postgres_connections() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u32::try_from(cpus * 2).unwrap_or(u32::MAX).max(4)
}

/// The SQLite pool's size when `DATABASE_MAX_CONNECTIONS` is not set. Each
/// connection runs its statements on a thread of its own, so the reads run
/// there, not on the async workers; 4 instead of 8 made the store read
/// slower on the benchmark machine (BENCHMARKS.md, "Pool size").
pub const DEFAULT_SQLITE_CONNECTIONS: u32 = 8;

/// Opens a pool for `url` with the settings storegate needs.
///
/// # Errors
/// Fails when the database cannot be reached or the URL is not understood.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, None).await
}

/// Like [`connect`], with `max_connections` in the pool (`None`:
/// [`default_postgres_connections`] or [`DEFAULT_SQLITE_CONNECTIONS`]).
///
/// # Errors
/// As [`connect`].
pub async fn connect_sized(url: &str, max_connections: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    open(url, None, max_connections).await
}

/// Like [`connect`], confining PostgreSQL sessions to one schema (tests use
/// a schema each, so they run in parallel on one database).
///
/// # Errors
/// As [`connect`].
pub async fn connect_with(url: &str, pg_schema: Option<&str>) -> Result<DatabaseConnection, DbErr> {
    open(url, pg_schema, None).await
}

async fn open(
    url: &str,
    pg_schema: Option<&str>,
    max_connections: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.acquire_timeout(ACQUIRE_TIMEOUT).connect_timeout(ACQUIRE_TIMEOUT).sqlx_logging(false);
    // Ping only connections idle long enough to have been dropped by the
    // server or a proxy: a ping on every checkout doubles the round trips
    // of a one-query request.
    options.test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    if url.starts_with("sqlite:") {
        // WAL lets readers run beside the one writer; the busy timeout makes
        // concurrent writers queue instead of failing with "database is locked".
        let max_connections = max_connections.unwrap_or(DEFAULT_SQLITE_CONNECTIONS);
        options.max_connections(max_connections).min_connections(1).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    } else {
        let max_connections = max_connections.unwrap_or_else(default_postgres_connections);
        options.max_connections(max_connections).min_connections(1);
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
    Migrator::up(db, None).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        reopen_sqlite_connections(db).await?;
    }
    Ok(())
}

/// Closes every connection the pool opened before the migrations ran; the
/// pool opens new ones as needed. A SQLite connection that had read the
/// schema before a migration added a column (`ALTER TABLE … ADD COLUMN`)
/// could answer that column as NULL in the `RETURNING` clause of a later
/// write (SQLite 3.51 through sqlx: "Missing value for column" on inserts
/// and updates under load); a connection opened afterwards reads the new
/// schema. Each connection is held until all are, so each one is closed.
async fn reopen_sqlite_connections(db: &DatabaseConnection) -> Result<(), DbErr> {
    let pool = db.get_sqlite_connection_pool();
    let mut held = Vec::new();
    for _ in 0..pool.size() {
        held.push(pool.acquire().await.map_err(|e| DbErr::Custom(format!("could not reopen SQLite: {e}")))?);
    }
    for connection in held {
        connection.close().await.map_err(|e| DbErr::Custom(format!("could not reopen SQLite: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_default_is_twice_the_cpus_and_at_least_four() {
        let cpus = u32::try_from(std::thread::available_parallelism().unwrap().get()).unwrap();
        assert_eq!(default_postgres_connections(), (2 * cpus).max(4));
    }

    #[tokio::test]
    async fn a_pool_has_the_size_asked_for_or_its_engines_default() {
        let sized = connect_sized("sqlite::memory:", Some(3)).await.unwrap();
        assert_eq!(sized.get_sqlite_connection_pool().options().get_max_connections(), 3);
        let default = connect_sized("sqlite::memory:", None).await.unwrap();
        assert_eq!(
            default.get_sqlite_connection_pool().options().get_max_connections(),
            DEFAULT_SQLITE_CONNECTIONS
        );
        // PostgreSQL only where the suite has one (TEST_DATABASE_URL, as in CI).
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else { return };
        let sized = connect_sized(&url, Some(3)).await.unwrap();
        assert_eq!(sized.get_postgres_connection_pool().options().get_max_connections(), 3);
        let default = connect_sized(&url, None).await.unwrap();
        assert_eq!(
            default.get_postgres_connection_pool().options().get_max_connections(),
            default_postgres_connections()
        );
    }
}
