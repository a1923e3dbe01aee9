//! The database side of the token blocklist: revoked `jti`s, kept until
//! the token would have expired anyway.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use entity::revoked_token;
use entity::user;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::domain::error::AppError;
use crate::domain::statements::CachedStatement;

/// What an authenticated request must know besides the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCheck {
    pub revoked: bool,
    pub user_exists: bool,
}

/// Whether `jti` is revoked and whether user `user_id` exists, in one
/// statement: one round trip per authenticated request instead of two.
///
/// # Errors
/// Database errors.
pub async fn check_session(
    db: &DatabaseConnection,
    jti: Uuid,
    user_id: i32,
) -> Result<SessionCheck, AppError> {
    static CHECK: LazyLock<CachedStatement> = LazyLock::new(|| {
        // Columns, not `Expr::val(1)`: a value would become a placeholder.
        let revoked = Query::select()
            .column(revoked_token::Column::Jti)
            .from(revoked_token::Entity)
            .and_where(revoked_token::Column::Jti.eq(String::new()))
            .to_owned();
        let user = Query::select()
            .column(user::Column::Id)
            .from(user::Entity)
            .and_where(user::Column::Id.eq(0))
            .to_owned();
        CachedStatement::from_statement(
            &Query::select()
                .expr_as(Expr::exists(revoked), "revoked")
                .expr_as(Expr::exists(user), "user_exists")
                .to_owned(),
        )
    });
    let row = CHECK
        .row(db, vec![jti.to_string().into(), user_id.into()])
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a SELECT without FROM returned no row")))?;
    Ok(SessionCheck { revoked: row.try_get("", "revoked")?, user_exists: row.try_get("", "user_exists")? })
}

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
    static BY_JTI: LazyLock<CachedStatement> = LazyLock::new(|| {
        CachedStatement::new(
            &revoked_token::Entity::find_by_id(String::new())
                .select_only()
                .column(revoked_token::Column::Jti),
        )
    });
    Ok(BY_JTI.exists(db, vec![jti.to_string().into()]).await?)
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
