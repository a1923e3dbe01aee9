//! The pool's release path on PostgreSQL, with the vendored sqlx patch
//! (vendor/README.md): a connection whose statement ran to completion goes
//! back without sqlx's release ping; anything else is still pinged, which
//! is what flushes a dropped transaction's ROLLBACK and drops a connection
//! whose backend died.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use storegate::db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::common::on_postgres;

static TABLE_COUNTER: AtomicU32 = AtomicU32::new(0);

fn postgres_url() -> Option<String> {
    if !on_postgres() {
        eprintln!("TEST_DATABASE_URL is not set; the pool tests run in .ci/run");
        return None;
    }
    std::env::var("TEST_DATABASE_URL").ok()
}

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

#[tokio::test]
async fn a_dropped_transaction_releases_its_row_lock_at_once() {
    let Some(url) = postgres_url() else { return };
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

#[tokio::test]
async fn a_killed_backend_costs_at_most_one_failed_statement() {
    let Some(url) = postgres_url() else { return };
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

/// PostgreSQL's frontend messages as a client sends them, tapped by a proxy.
#[derive(Default)]
struct FrontendTap {
    bytes: Vec<u8>,
}

impl FrontendTap {
    /// The type byte of every message after the startup packets.
    fn message_types(&self) -> Vec<u8> {
        let mut bytes = self.bytes.as_slice();
        // Startup packets have no type byte: the SSL request (if any), then
        // the startup message, each a length and a body.
        loop {
            let length = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
            let is_ssl_request = length == 8 && bytes[4..8] == 80_877_103u32.to_be_bytes();
            bytes = &bytes[length..];
            if !is_ssl_request {
                break;
            }
        }
        let mut types = Vec::new();
        while bytes.len() >= 5 {
            let length = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
            types.push(bytes[0]);
            bytes = &bytes[1 + length..];
        }
        types
    }
}

/// Relays one connection to `upstream`, recording what the client sends.
async fn tapping_proxy(upstream: String, tap: Arc<Mutex<FrontendTap>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let outbound = TcpStream::connect(&upstream).await.unwrap();
            let (mut from_client, mut to_client) = inbound.into_split();
            let (mut from_server, mut to_server) = outbound.into_split();
            let tap = tap.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(read @ 1..) = from_client.read(&mut buffer).await {
                    tap.lock().await.bytes.extend_from_slice(&buffer[..read]);
                    if to_server.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move { tokio::io::copy(&mut from_server, &mut to_client).await });
        }
    });
    port
}

#[tokio::test]
async fn a_completed_statement_goes_back_to_the_pool_without_a_ping() {
    let Some(url) = postgres_url() else { return };
    let upstream = url.split('@').nth(1).unwrap().split('/').next().unwrap().to_string();
    let tap = Arc::new(Mutex::new(FrontendTap::default()));
    let port = tapping_proxy(upstream.clone(), tap.clone()).await;
    // Plain TCP, so that the proxy reads the protocol.
    let proxied = url.replacen(&upstream, &format!("127.0.0.1:{port}"), 1);
    let proxied = format!("{proxied}{}sslmode=disable", if proxied.contains('?') { '&' } else { '?' });
    let pool = single_connection_pool(&proxied).await;

    let statements = 10;
    for id in 0..statements {
        let found = pool
            .query_one_raw(Statement::from_sql_and_values(
                pool.get_database_backend(),
                "SELECT $1::int AS id",
                [id.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.try_get::<i32>("", "id").unwrap(), id);
    }
    // The release runs on a task of its own; let the last one finish.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let types = tap.lock().await.message_types();
    let count = |kind: u8| types.iter().filter(|&&t| t == kind).count();
    // The first statement is prepared (Parse, Describe, Sync), then each
    // runs as Bind, Execute, Close, Sync: as many Syncs as Parses and
    // Executes. sqlx's release ping would add one Sync per statement.
    let sent = String::from_utf8_lossy(&types).into_owned();
    assert_eq!(count(b'E'), statements as usize, "{sent}");
    assert_eq!(count(b'S'), count(b'P') + count(b'E'), "no Sync but the statements' own: {sent}");
}
