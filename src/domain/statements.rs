//! Reads on the hot path, rendered to SQL once instead of on every call.
//!
//! SeaORM builds a query's SQL afresh on every call: the select, its join
//! and every quoted identifier. For a one-row read that was a third of the
//! server's instructions per request (callgrind, BENCHMARKS.md). These
//! statements are built once per backend from the same entities, through
//! the same query builder, then run with new values on the connection's
//! own sqlx pool (so pooling and prepared-statement reuse are unchanged).
//! Rows decode through the entities as before.
//!
//! They run on the pool rather than through `DatabaseConnection`: its
//! statement future covers every backend SeaORM was built with and is
//! copied three times per statement (boxed by `async_trait`, then wrapped
//! twice for tracing). Run here, it is copied once, and a REST product
//! read takes a quarter fewer instructions (callgrind, BENCHMARKS.md).
//! Errors map to the same `DbErr` variants SeaORM gives.

use sea_orm::sea_query::Values;
use sea_orm::sqlx::{self, AssertSqlSafe, Database, Executor, IntoArguments, Pool};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryResult, QueryTrait,
    RuntimeErr, SelectorTrait, Statement, StatementBuilder, Value,
};
use sea_query_sqlx::SqlxValues;

/// One statement's SQL for each backend; its placeholders take the values
/// given per call, in the order the builder numbered them.
pub struct CachedStatement {
    postgres: String,
    sqlite: String,
}

impl CachedStatement {
    /// Renders `query`, built with stand-in values where the per-call
    /// values go.
    pub fn new(query: &impl QueryTrait) -> Self {
        Self::from_statement(query.as_query())
    }

    /// Like [`new`](Self::new), for a statement built with sea-query itself
    /// (one that selects from no entity, say).
    pub fn from_statement(statement: &impl StatementBuilder) -> Self {
        Self {
            postgres: statement.build(&DatabaseBackend::Postgres).sql,
            sqlite: statement.build(&DatabaseBackend::Sqlite).sql,
        }
    }

    fn sql(&self, backend: DatabaseBackend) -> &str {
        match backend {
            DatabaseBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        }
    }

    fn statement(&self, db: &DatabaseConnection, values: Vec<Value>) -> Statement {
        let backend = db.get_database_backend();
        Statement::from_sql_and_values(backend, self.sql(backend), values)
    }

    /// The first row, if any.
    async fn fetch_optional(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<Option<QueryResult>, DbErr> {
        let backend = db.get_database_backend();
        let sql = self.sql(backend);
        debug_assert_eq!(placeholders(sql), values.len(), "values for {sql}");
        match backend {
            DatabaseBackend::Postgres => {
                Ok(Box::pin(fetch_optional(db.get_postgres_connection_pool(), sql, values))
                    .await?
                    .map(QueryResult::from))
            }
            DatabaseBackend::Sqlite => {
                Ok(Box::pin(fetch_optional(db.get_sqlite_connection_pool(), sql, values))
                    .await?
                    .map(QueryResult::from))
            }
            _ => db.query_one_raw(self.statement(db, values)).await,
        }
    }

    /// Every row.
    async fn fetch_all(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let backend = db.get_database_backend();
        let sql = self.sql(backend);
        debug_assert_eq!(placeholders(sql), values.len(), "values for {sql}");
        match backend {
            DatabaseBackend::Postgres => {
                Ok(Box::pin(fetch_all(db.get_postgres_connection_pool(), sql, values))
                    .await?
                    .into_iter()
                    .map(QueryResult::from)
                    .collect())
            }
            DatabaseBackend::Sqlite => Ok(Box::pin(fetch_all(db.get_sqlite_connection_pool(), sql, values))
                .await?
                .into_iter()
                .map(QueryResult::from)
                .collect()),
            _ => db.query_all_raw(self.statement(db, values)).await,
        }
    }

    /// The first row, decoded by `S` (`SelectModel<M>`, `SelectTwoModel<M, N>`).
    ///
    /// # Errors
    /// Database and decoding errors.
    pub async fn one<S: SelectorTrait>(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<Option<S::Item>, DbErr> {
        self.fetch_optional(db, values).await?.map(S::from_raw_query_result).transpose()
    }

    /// Every row, decoded by `S`.
    ///
    /// # Errors
    /// Database and decoding errors.
    pub async fn all<S: SelectorTrait>(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<Vec<S::Item>, DbErr> {
        self.fetch_all(db, values).await?.into_iter().map(S::from_raw_query_result).collect()
    }

    /// Every row, undecoded (for joins whose left side repeats on each row
    /// and is decoded once).
    ///
    /// # Errors
    /// Database errors.
    pub async fn rows(&self, db: &DatabaseConnection, values: Vec<Value>) -> Result<Vec<QueryResult>, DbErr> {
        self.fetch_all(db, values).await
    }

    /// The first row, undecoded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn row(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<Option<QueryResult>, DbErr> {
        self.fetch_optional(db, values).await
    }

    /// Whether the statement finds a row.
    ///
    /// # Errors
    /// Database errors.
    pub async fn exists(&self, db: &DatabaseConnection, values: Vec<Value>) -> Result<bool, DbErr> {
        Ok(self.fetch_optional(db, values).await?.is_some())
    }
}

/// One statement on `pool`: a connection is taken for it and given back
/// after, as SeaORM does. Callers box the future: it holds sqlx's acquire
/// and fetch futures, and kept inline it would make every future that
/// awaits it as large, to be copied each time one of them moves.
async fn fetch_optional<DB: Database>(
    pool: &Pool<DB>,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<DB::Row>, DbErr>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: IntoArguments<DB>,
{
    let mut connection = pool.acquire().await.map_err(acquire_error)?;
    sqlx::query_with(AssertSqlSafe(sql), SqlxValues(Values(values)))
        .fetch_optional(&mut *connection)
        .await
        .map_err(query_error)
}

async fn fetch_all<DB: Database>(
    pool: &Pool<DB>,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<DB::Row>, DbErr>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: IntoArguments<DB>,
{
    let mut connection = pool.acquire().await.map_err(acquire_error)?;
    sqlx::query_with(AssertSqlSafe(sql), SqlxValues(Values(values)))
        .fetch_all(&mut *connection)
        .await
        .map_err(query_error)
}

/// SeaORM's mapping of a failed checkout (`sqlx_conn_acquire_err`).
fn acquire_error(error: sqlx::Error) -> DbErr {
    match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(other.into())),
    }
}

/// SeaORM's mapping of a failed statement (`sqlx_error_to_query_err`).
fn query_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(error.into()))
}

/// How many values `sql` takes (`$n` or `?`): a stand-in built as a value
/// instead of SQL would shift every value after it.
fn placeholders(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    (0..bytes.len())
        .filter(|&i| {
            bytes[i] == b'?' || (bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use entity::product;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use super::*;

    #[test]
    fn renders_each_backend_with_its_own_placeholders() {
        let cached = CachedStatement::new(&product::Entity::find().filter(product::Column::Id.eq(0)));
        assert!(cached.postgres.ends_with(r#"WHERE "products"."id" = $1"#), "{}", cached.postgres);
        assert!(cached.sqlite.ends_with(r#"WHERE "products"."id" = ?"#), "{}", cached.sqlite);
        assert_eq!((placeholders(&cached.postgres), placeholders(&cached.sqlite)), (1, 1));
    }
}
