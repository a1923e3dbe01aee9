//! Reads on the hot path, rendered to SQL once instead of on every call.
//!
//! SeaORM builds a query's SQL afresh on every call: the select, its join
//! and every quoted identifier. For a one-row read that was a third of the
//! server's instructions per request (callgrind, BENCHMARKS.md). These
//! statements are built once per backend from the same entities, through
//! the same query builder, then run with new values through the same
//! connection (so pooling, prepared-statement reuse, metrics and error
//! mapping are unchanged). Rows decode through the entities as before.

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, QueryResult, QueryTrait, SelectorTrait, Statement,
    StatementBuilder, Value,
};

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

    fn statement(&self, db: &impl ConnectionTrait, values: Vec<Value>) -> Statement {
        let backend = db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        };
        debug_assert_eq!(placeholders(sql), values.len(), "values for {sql}");
        Statement::from_sql_and_values(backend, sql.as_str(), values)
    }

    /// The first row, decoded by `S` (`SelectModel<M>`, `SelectTwoModel<M, N>`).
    ///
    /// # Errors
    /// Database and decoding errors.
    pub async fn one<S: SelectorTrait>(
        &self,
        db: &impl ConnectionTrait,
        values: Vec<Value>,
    ) -> Result<Option<S::Item>, DbErr> {
        db.query_one_raw(self.statement(db, values)).await?.map(S::from_raw_query_result).transpose()
    }

    /// Every row, decoded by `S`.
    ///
    /// # Errors
    /// Database and decoding errors.
    pub async fn all<S: SelectorTrait>(
        &self,
        db: &impl ConnectionTrait,
        values: Vec<Value>,
    ) -> Result<Vec<S::Item>, DbErr> {
        db.query_all_raw(self.statement(db, values))
            .await?
            .into_iter()
            .map(S::from_raw_query_result)
            .collect()
    }

    /// Every row, undecoded (for joins whose left side repeats on each row
    /// and is decoded once).
    ///
    /// # Errors
    /// Database errors.
    pub async fn rows(
        &self,
        db: &impl ConnectionTrait,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, DbErr> {
        db.query_all_raw(self.statement(db, values)).await
    }

    /// The first row, undecoded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn row(
        &self,
        db: &impl ConnectionTrait,
        values: Vec<Value>,
    ) -> Result<Option<QueryResult>, DbErr> {
        db.query_one_raw(self.statement(db, values)).await
    }

    /// Whether the statement finds a row.
    ///
    /// # Errors
    /// Database errors.
    pub async fn exists(&self, db: &impl ConnectionTrait, values: Vec<Value>) -> Result<bool, DbErr> {
        Ok(db.query_one_raw(self.statement(db, values)).await?.is_some())
    }
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
