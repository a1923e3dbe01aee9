//! Indexes for querying lists (docs/API.md §3.1): a `(column, id)` index
//! per sortable column, so that a sorted keyset page reads an index range
//! instead of sorting the table; todos lead with `owner_id`, as every list
//! of todos is one user's. On PostgreSQL, trigram (GIN) indexes serve the
//! `q` substring search (`ILIKE '%…%'`) when `pg_trgm` can be installed;
//! for the tables searched over several columns, m20261208_000001 replaces
//! them with one index over a joined column.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(table, leading columns, sortable columns)`: one index per sortable column.
const SORTED: &[(&str, &[&str], &[&str])] = &[
    ("stores", &[], &["name", "created_at", "updated_at"]),
    ("items", &[], &["name", "price_cents", "created_at", "updated_at"]),
    ("items", &["store_id"], &["price_cents", "name"]),
    (
        "factories",
        &[],
        &["name", "country", "city", "established_year", "capacity_per_month", "created_at", "updated_at"],
    ),
    ("products", &[], &["sku", "name", "price_cents", "created_at", "updated_at"]),
    ("products", &["factory_id"], &["price_cents", "name"]),
    ("todos", &["owner_id"], &["title", "status", "created_at", "updated_at", "completed_at"]),
];

/// The columns `q` searches, per table.
const SEARCHED: &[(&str, &[&str])] = &[
    ("stores", &["name"]),
    ("items", &["name"]),
    ("factories", &["name", "city", "country"]),
    ("products", &["name", "sku", "description"]),
    ("todos", &["title"]),
];

fn index_name(table: &str, columns: &[&str], suffix: &str) -> String {
    format!("{table}_{}_{suffix}", columns.join("_"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, leading, sortable) in SORTED {
            for column in *sortable {
                let mut columns: Vec<&str> = leading.to_vec();
                columns.extend([*column, "id"]);
                let name = index_name(table, &columns, "list_idx");
                let list = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
                db.execute_unprepared(&format!(
                    "CREATE INDEX IF NOT EXISTS \"{name}\" ON \"{table}\" ({list})"
                ))
                .await?;
            }
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            trigram_indexes(db).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, leading, sortable) in SORTED {
            for column in *sortable {
                let mut columns: Vec<&str> = leading.to_vec();
                columns.extend([*column, "id"]);
                let name = index_name(table, &columns, "list_idx");
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS \"{name}\"")).await?;
            }
        }
        for (table, columns) in SEARCHED {
            for column in *columns {
                let name = index_name(table, &[column], "trgm_idx");
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS \"{name}\"")).await?;
            }
        }
        Ok(())
    }
}

/// Installs `pg_trgm` (in `public`, so that it outlives any one schema)
/// and builds the trigram indexes. Without the privilege to install it,
/// warns and goes on: `q` still works, by scanning.
async fn trigram_indexes(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    // A failed statement would abort the migration's transaction: try it
    // under a savepoint (when there is no transaction, no savepoint is needed).
    let savepoint = db.execute_unprepared("SAVEPOINT list_indexes_trgm").await.is_ok();
    if let Err(error) = db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public").await {
        if savepoint {
            db.execute_unprepared("ROLLBACK TO SAVEPOINT list_indexes_trgm").await?;
        }
        tracing::warn!(
            %error,
            "could not install the pg_trgm extension: `q` searches will scan instead of using trigram \
             indexes (have a superuser run `CREATE EXTENSION pg_trgm` before the first migration; on a \
             database migrated without it, create by hand the trigram indexes of m20261207_000010 for \
             stores, items and todos and of m20261208_000001 for products and factories)"
        );
        return Ok(());
    }
    if savepoint {
        db.execute_unprepared("RELEASE SAVEPOINT list_indexes_trgm").await?;
    }
    let schema = trigram_schema(db).await?.unwrap_or_else(|| "public".into());
    for (table, columns) in SEARCHED {
        for column in *columns {
            let name = index_name(table, &[column], "trgm_idx");
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS \"{name}\" ON \"{table}\" USING gin (\"{column}\" \"{schema}\".gin_trgm_ops)"
            ))
            .await?;
        }
    }
    Ok(())
}

/// The schema `pg_trgm` is installed in, if it is: its operator classes
/// live there, which need not be on this connection's search path.
pub(crate) async fn trigram_schema(db: &SchemaManagerConnection<'_>) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'pg_trgm'",
        ))
        .await?;
    row.map(|row| row.try_get("", "nspname")).transpose()
}
