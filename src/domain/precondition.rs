//! Conditional writes: a write that expects the resource to still be the
//! version its caller last saw (REST's `If-Match`, docs/API.md §3.2).
//!
//! The domain does not know how a face names a version (REST hashes the
//! JSON it sends); the face hands over a check of the current state, and
//! the write runs that check on the row it has locked, in the transaction
//! that then changes it. Two writers holding the same version therefore
//! cannot both pass: the second reads the first one's result.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::domain::error::AppError;

/// What a write expects of the current state `T` of what it changes.
pub enum Expect<'a, T> {
    /// Whatever it is now: an unconditional write.
    Anything,
    /// The version the caller saw: the check says whether the current
    /// state still is that version. When it says no the write fails with
    /// `PreconditionFailed` and changes nothing.
    Version(&'a (dyn Fn(&T) -> bool + Send + Sync)),
}

impl<T> Expect<'_, T> {
    /// Whether a version is expected (worth reading the state to check).
    pub fn is_conditional(&self) -> bool {
        matches!(self, Self::Version(_))
    }

    /// # Errors
    /// `PreconditionFailed` when `current` is not the expected version.
    pub fn check(&self, current: &T) -> Result<(), AppError> {
        match self {
            Self::Anything => Ok(()),
            Self::Version(matches) if matches(current) => Ok(()),
            Self::Version(_) => Err(AppError::PreconditionFailed(
                "the resource has changed since the version this write expects; read it again".into(),
            )),
        }
    }
}

/// Begins the transaction of a read-check-write. On PostgreSQL the row is
/// then read `FOR UPDATE`, which makes a second writer of that row wait for
/// this one's commit. SQLite has no row locks: `BEGIN IMMEDIATE` takes the
/// database's one write lock before the first read, so writers queue (up to
/// the busy timeout) instead of reading a state another writer is about to
/// replace.
///
/// # Errors
/// Database errors.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}
