//! Conditional writes: a write that expects the resource to still be the
//! version its caller last saw (REST's `If-Match`, docs/API.md §3.2).
//!
//! The domain does not know how a face names a version (REST hashes the
//! JSON it sends); the face hands over a check of the current state, and
//! the write runs that check on the row it has locked, in the transaction
//! that then changes it. Two writers holding the same version therefore
//! cannot both pass: the second reads the first one's result.

use std::sync::Arc;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::domain::error::AppError;
use crate::state::AppState;

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

/// The order of this process's writers on SQLite, whose database has one
/// write lock. A writer that finds the lock taken sleeps in SQLite's busy
/// handler (1, 2, 5, 10 ms and longer) and may find it taken again when it
/// wakes; writers that queue here are handed the turn as the previous one
/// finishes. On SQLite's write mix (`bench/compare.sh`) that cut the p99
/// from 114–133 ms to 45–58 ms (BENCHMARKS.md, "Write mix"). Other processes, and the writes that do
/// not queue (sign-in, tokens, idempotency keys), still meet the busy
/// handler. On PostgreSQL, whose locks are per row, nothing queues.
#[derive(Clone, Default)]
pub struct WriteGate(Option<Arc<Mutex<()>>>);

/// A writer's turn: the next one's starts when this is dropped.
pub struct WriteTurn {
    _held: Option<OwnedMutexGuard<()>>,
}

impl WriteGate {
    pub fn for_connection(db: &DatabaseConnection) -> Self {
        match db.get_database_backend() {
            DbBackend::Sqlite => Self(Some(Arc::new(Mutex::new(())))),
            _ => Self(None),
        }
    }

    /// Waits for this writer's turn (at once on PostgreSQL).
    pub async fn turn(&self) -> WriteTurn {
        match &self.0 {
            Some(gate) => WriteTurn { _held: Some(Arc::clone(gate).lock_owned().await) },
            None => WriteTurn { _held: None },
        }
    }
}

/// Begins the transaction of a read-check-write, in this writer's turn
/// ([`WriteGate`]); the turn must be kept until the transaction ends. On
/// PostgreSQL the row is then read `FOR UPDATE`, which makes a second
/// writer of that row wait for this one's commit. SQLite has no row locks:
/// `BEGIN IMMEDIATE` takes the database's one write lock before the first
/// read, so writers queue (up to the busy timeout) instead of reading a
/// state another writer is about to replace.
///
/// # Errors
/// Database errors.
pub async fn begin_write(state: &AppState) -> Result<(WriteTurn, DatabaseTransaction), DbErr> {
    let turn = state.writes.turn().await;
    let txn = state
        .db
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await?;
    Ok((turn, txn))
}
