//! The database side of the token blocklist: revoked `jti`s, kept until
//! the token would have expired anyway.

use chrono::{DateTime, Utc};
use entity::revoked_token;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::AppError;

/// # Errors
/// Database errors.
pub async fn revoke(db: &DatabaseConnection, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError> {
    let row = revoked_token::ActiveModel { jti: Set(jti.to_string()), expires_at: Set(expires_at) };
    // Revoking twice (two logouts racing) is not an error.
    revoked_token::Entity::insert(row)
        .on_conflict_do_nothing_on([revoked_token::Column::Jti])
        .exec(db)
        .await?;
    Ok(())
}

/// # Errors
/// Database errors.
pub async fn is_revoked(db: &DatabaseConnection, jti: Uuid) -> Result<bool, AppError> {
    let found = revoked_token::Entity::find_by_id(jti.to_string())
        .select_only()
        .column(revoked_token::Column::Jti)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Deletes rows whose tokens have expired; returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, AppError> {
    let result = revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
