//! On PostgreSQL, a table whose `q` searches several columns gets one
//! stored, lowercased `search_text` column joining them (with U+001F
//! between fields) and one trigram GiST index over it, in place of a GIN
//! index per column. The search then reads one column with a plain `LIKE`
//! instead of three `ILIKE`s (a third of the cost per row filtered), and a
//! rare term next to a word every row holds (`product 4242`) no longer
//! decodes that word's posting lists in full: the GIN scan took 3.3 ms on
//! 100,000 products, the GiST scan 0.1 ms (BENCHMARKS.md, "Searching
//! 100,000 products"). With the default signature of 12 bytes it took
//! 1.1-1.5 ms: rows of about 90 characters fill the inner nodes'
//! signatures, and `siglen=256` keeps them telling. The price: a product
//! insert took the database 85-102 µs instead of 73-79 (10,000 single-row
//! inserts into 100,000 products, two runs each; GIN defers part of its
//! cost to its pending list). SQLite keeps its `LIKE` per column.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::m20261207_000010_add_list_indexes::trigram_schema;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(table, searched columns)`, as `Spec::search` lists them in the domain.
const JOINED: &[(&str, &[&str])] =
    &[("products", &["name", "sku", "description"]), ("factories", &["name", "city", "country"])];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, columns) in JOINED {
            let joined = columns
                .iter()
                .map(|c| format!("lower(coalesce(\"{c}\"::text, ''))"))
                .collect::<Vec<_>>()
                .join(" || chr(31) || ");
            db.execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" ADD COLUMN IF NOT EXISTS search_text text \
                 GENERATED ALWAYS AS ({joined}) STORED"
            ))
            .await?;
            // A histogram of 1,000 joined values, so that the planner tells
            // a word one row in 77 holds from one in 10,000 (with the
            // default 100 both read as "none in the sample", and a search
            // for the first took the trigram index at 10-20 ms instead of
            // walking the sort index in 1).
            db.execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" ALTER COLUMN search_text SET STATISTICS 1000"
            ))
            .await?;
        }
        // The list-indexes migration installed pg_trgm, or said why not.
        if let Some(schema) = trigram_schema(db).await? {
            // `siglen` came with pg_trgm 1.5 (PostgreSQL 13); an older
            // extension gets the default signature.
            let signature = if signature_length_supported(db).await? { "(siglen = 256)" } else { "" };
            for (table, columns) in JOINED {
                db.execute_unprepared(&format!(
                    "CREATE INDEX IF NOT EXISTS \"{table}_search_text_trgm_idx\" ON \"{table}\" \
                     USING gist (search_text \"{schema}\".gist_trgm_ops{signature})"
                ))
                .await?;
                for column in *columns {
                    db.execute_unprepared(&format!("DROP INDEX IF EXISTS \"{table}_{column}_trgm_idx\""))
                        .await?;
                }
            }
        }
        // The new column's statistics now, rather than when autovacuum
        // next finds enough of the table changed.
        for (table, _) in JOINED {
            db.execute_unprepared(&format!("ANALYZE \"{table}\"")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        let schema = trigram_schema(db).await?;
        for (table, columns) in JOINED {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS \"{table}_search_text_trgm_idx\"")).await?;
            db.execute_unprepared(&format!("ALTER TABLE \"{table}\" DROP COLUMN IF EXISTS search_text"))
                .await?;
            if let Some(schema) = &schema {
                for column in *columns {
                    db.execute_unprepared(&format!(
                        "CREATE INDEX IF NOT EXISTS \"{table}_{column}_trgm_idx\" ON \"{table}\" \
                         USING gin (\"{column}\" \"{schema}\".gin_trgm_ops)"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the installed pg_trgm takes `siglen` (version 1.5 and later).
async fn signature_length_supported(db: &SchemaManagerConnection<'_>) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'",
        ))
        .await?;
    let Some(row) = row else { return Ok(false) };
    let version: String = row.try_get("", "extversion")?;
    let mut parts = version.split('.').map(|part| part.parse::<u32>().unwrap_or(0));
    Ok((parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (1, 5))
}
