//! The pool's release path on PostgreSQL: sqlx pings a connection as it
//! goes back to the pool, which is what flushes a dropped transaction's
//! ROLLBACK and drops a connection whose backend died.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use storegate::db;

use crate::common::require_postgres;

static TABLE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A pool of one connection, so that every statement reuses it.
async fn single_connection_pool(url: &str) -> DatabaseConnection {
    db::connect_sized(url, Some(1)).await.expect("PostgreSQL opens")
}

async fn run(db: &impl ConnectionTrait, sql: &str) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(sql).await.map(drop)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("the statement runs")
        .expect("one row");
    row.try_get_by_index::<i64>(0).expect("a bigint")
}

/// A table of its own for one test, dropped when the test ends.
struct ScratchTable {
    name: String,
    admin: DatabaseConnection,
}

impl ScratchTable {
    async fn new(url: &str) -> Self {
        let name =
            format!("pool_probe_{}_{}", std::process::id(), TABLE_COUNTER.fetch_add(1, Ordering::Relaxed));
        let admin = single_connection_pool(url).await;
        run(&admin, &format!("CREATE TABLE {name} (id int PRIMARY KEY, n bigint NOT NULL)")).await.unwrap();
        run(&admin, &format!("INSERT INTO {name} VALUES (1, 0)")).await.unwrap();
        Self { name, admin }
    }

    async fn drop_table(self) {
        run(&self.admin, &format!("DROP TABLE {}", self.name)).await.unwrap();
    }
}

#[ignore = "needs TEST_DATABASE_URL; .ci/run runs it with --include-ignored"]
#[tokio::test]
async fn a_dropped_transaction_releases_its_row_lock_at_once() {
    let url = require_postgres();
    let table = ScratchTable::new(&url).await;
    let pool = single_connection_pool(&url).await;

    let transaction = pool.begin().await.unwrap();
    run(&transaction, &format!("UPDATE {} SET n = n + 1 WHERE id = 1", table.name)).await.unwrap();
    // Neither committed nor rolled back: sqlx queues a ROLLBACK on the
    // connection, and only the release ping sends it. Were the connection
    // taken back without one, the row would stay locked until the pool
    // next used that connection, which nothing here does.
    drop(transaction);

    let other = single_connection_pool(&url).await;
    run(&other, "SET lock_timeout = '5s'").await.unwrap();
    let started = Instant::now();
    run(&other, &format!("UPDATE {} SET n = n + 10 WHERE id = 1", table.name))
        .await
        .expect("the dropped transaction's lock is gone within lock_timeout");
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    assert_eq!(scalar(&pool, &format!("SELECT n FROM {} WHERE id = 1", table.name)).await, 10, "rolled back");
    table.drop_table().await;
}

#[ignore = "needs TEST_DATABASE_URL; .ci/run runs it with --include-ignored"]
#[tokio::test]
async fn a_killed_backend_costs_at_most_one_failed_statement() {
    let url = require_postgres();
    let pool = single_connection_pool(&url).await;
    let backend = scalar(&pool, "SELECT pg_backend_pid()::bigint").await;
    let admin = single_connection_pool(&url).await;
    run(&admin, &format!("SELECT pg_terminate_backend({backend})")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while scalar(&admin, &format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {backend}")).await > 0 {
        assert!(Instant::now() < deadline, "backend {backend} did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut failures = 0;
    for _ in 0..5 {
        if run(&pool, "SELECT 1").await.is_err() {
            failures += 1;
        }
    }
    // The statement that meets the dead socket fails and leaves the
    // connection out of sync, so the pool pings it, the ping fails and the
    // connection is closed; the next statement opens a new one.
    assert!(failures <= 1, "{failures} of 5 statements failed after one backend died");
    assert_ne!(scalar(&pool, "SELECT pg_backend_pid()::bigint").await, backend, "a new backend");
}
