//! Idempotency keys: a create retried under the same key runs once
//! (docs/API.md §3.2).
//!
//! A key is claimed with an `INSERT` that conflicts on `(user_id, key)`
//! before the create runs, so of any number of racing retries exactly one
//! claims it and runs; the others find the claim and answer from it. The
//! claim holds a fingerprint of the request, then the answer. Only
//! successful answers are kept: a refused create releases its key, so the
//! client may correct the request and retry under the same key. Keys live
//! [`KEEP_FOR`] and are purged in the background ([`spawn_purge`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::idempotency_key::{self, Column};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TryInsertResult};

use crate::domain::error::AppError;
use crate::domain::time;
use crate::state::AppState;

/// How long a key and its answer are kept.
pub const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a claim may stay unanswered before a retry may take it over.
/// A request that is cancelled or fails releases its claim itself; only a
/// server that stopped mid-request leaves one behind, and no request runs
/// this long (the request timeout is far shorter).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(10 * 60);

/// The longest key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// The field a bad key is reported on.
pub const KEY_FIELD: &str = "Idempotency-Key";

/// A stored answer, replayed to retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// What a request finds when it presents its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request holds the key: run the create, then [`complete`] or
    /// [`release`].
    Claimed,
    /// Another request with the key is still running.
    InProgress,
    /// The key was used for another request (another body or route).
    OtherRequest,
    /// The first request's answer.
    Answered(StoredAnswer),
}

/// # Errors
/// `Validation` on `Idempotency-Key` unless it is 1 to 255 characters.
pub fn validate_key(key: &str) -> Result<(), AppError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(AppError::field(KEY_FIELD, "must be 1 to 255 characters"));
    }
    Ok(())
}

/// Claims `key` for `user_id`'s request whose fingerprint is `fingerprint`,
/// or reports what holds it.
///
/// # Errors
/// Database errors.
pub async fn claim(state: &AppState, user_id: i32, key: &str, fingerprint: &str) -> Result<Claim, AppError> {
    let db = &state.db;
    // A few rounds at most: a row may vanish (released, expired) between the
    // refused insert and the read.
    for _ in 0..3 {
        let now = time::now();
        let row = idempotency_key::ActiveModel {
            user_id: Set(user_id),
            key: Set(key.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            status: Set(None),
            location: Set(None),
            body: Set(None),
            created_at: Set(now),
        };
        let inserted = idempotency_key::Entity::insert(row)
            .on_conflict_do_nothing_on([Column::UserId, Column::Key])
            .exec_without_returning(db)
            .await?;
        if matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0) {
            return Ok(Claim::Claimed);
        }
        let Some(existing) = idempotency_key::Entity::find_by_id((user_id, key.to_owned())).one(db).await?
        else {
            continue;
        };
        if existing.created_at < now - KEEP_FOR {
            // Expired but not yet purged: as good as absent.
            delete_if_created_at(db, user_id, key, existing.created_at).await?;
            continue;
        }
        if existing.fingerprint != fingerprint {
            return Ok(Claim::OtherRequest);
        }
        match (existing.status, existing.body) {
            (Some(status), Some(body)) => {
                let status = u16::try_from(status).map_err(AppError::internal)?;
                return Ok(Claim::Answered(StoredAnswer { status, location: existing.location, body }));
            }
            _ if existing.created_at < now - ABANDONED_AFTER => {
                // Abandoned by a server that stopped: take it over, unless
                // another retry just did.
                let taken = idempotency_key::Entity::update_many()
                    .col_expr(Column::CreatedAt, now.into())
                    .filter(Column::UserId.eq(user_id))
                    .filter(Column::Key.eq(key))
                    .filter(Column::Status.is_null())
                    .filter(Column::CreatedAt.eq(existing.created_at))
                    .exec(db)
                    .await?;
                if taken.rows_affected == 1 {
                    return Ok(Claim::Claimed);
                }
            }
            _ => return Ok(Claim::InProgress),
        }
    }
    Ok(Claim::InProgress)
}

/// Stores the answer of a claimed key's request.
///
/// # Errors
/// Database errors.
pub async fn complete(
    state: &AppState,
    user_id: i32,
    key: &str,
    answer: StoredAnswer,
) -> Result<(), AppError> {
    let status = i16::try_from(answer.status).map_err(AppError::internal)?;
    idempotency_key::Entity::update_many()
        .col_expr(Column::Status, Some(status).into())
        .col_expr(Column::Location, answer.location.into())
        .col_expr(Column::Body, Some(answer.body).into())
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Key.eq(key))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Releases a claimed key whose request did not succeed, so that it may be
/// retried. Only an unanswered claim is released.
///
/// # Errors
/// Database errors.
pub async fn release(db: &DatabaseConnection, user_id: i32, key: &str) -> Result<(), AppError> {
    idempotency_key::Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Key.eq(key))
        .filter(Column::Status.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn delete_if_created_at(
    db: &DatabaseConnection,
    user_id: i32,
    key: &str,
    created_at: DateTime<Utc>,
) -> Result<(), AppError> {
    idempotency_key::Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Key.eq(key))
        .filter(Column::CreatedAt.eq(created_at))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes keys older than [`KEEP_FOR`]; returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, AppError> {
    let result = idempotency_key::Entity::delete_many()
        .filter(Column::CreatedAt.lt(time::now() - KEEP_FOR))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Purges expired keys every `every`, as the token blocklist's table is.
pub fn spawn_purge(db: DatabaseConnection, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            match purge_expired(&db).await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "purged expired idempotency keys"),
                Err(_) => tracing::warn!("could not purge expired idempotency keys; will retry"),
            }
        }
    })
}
