//! The database side of the token blocklist: revoked `jti`s and session
//! families, and spent refresh tokens, each kept until every token it
//! refuses would have expired anyway.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use entity::revoked_token;
use entity::user;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, TryInsertResult,
};
use uuid::Uuid;

use crate::domain::error::AppError;
use crate::domain::statements::CachedStatement;

/// What an authenticated request must know besides the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCheck {
    /// The token, or its whole session (family), is revoked; for a refresh
    /// token, also: it has been spent.
    pub revoked: bool,
    /// The user's current token generation; `None` when the user no
    /// longer exists.
    pub user_generation: Option<i32>,
}

/// Whether `jti` or its session `family` is revoked, and user `user_id`'s
/// token generation, in one statement: one round trip per authenticated
/// request, as before families and generations existed.
///
/// # Errors
/// Database errors.
pub async fn check_session(
    db: &DatabaseConnection,
    jti: Uuid,
    family: Uuid,
    user_id: i32,
) -> Result<SessionCheck, AppError> {
    static CHECK: LazyLock<CachedStatement> = LazyLock::new(|| {
        // Columns, not `Expr::val(1)`: a value would become a placeholder.
        let revoked = Query::select()
            .column(revoked_token::Column::Jti)
            .from(revoked_token::Entity)
            .and_where(revoked_token::Column::Jti.is_in([String::new(), String::new()]))
            .to_owned();
        let generation = Query::select()
            .column(user::Column::TokenGeneration)
            .from(user::Entity)
            .and_where(user::Column::Id.eq(0))
            .to_owned();
        CachedStatement::from_statement(
            &Query::select()
                .expr_as(Expr::exists(revoked), "revoked")
                .expr_as(Expr::from(generation), "user_generation")
                .to_owned(),
        )
    });
    let values = vec![jti.to_string().into(), family.to_string().into(), user_id.into()];
    let row = CHECK
        .row(db, values)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a SELECT without FROM returned no row")))?;
    Ok(SessionCheck {
        revoked: row.try_get("", "revoked")?,
        user_generation: row.try_get("", "user_generation")?,
    })
}

/// Marks refresh token `jti` spent until `expires_at`. `true` for its
/// first use only: of any number of concurrent calls, on any instance,
/// exactly one wins (the insert of the row is the race's one arbiter).
///
/// # Errors
/// Database errors.
pub async fn spend(db: &DatabaseConnection, jti: Uuid, expires_at: DateTime<Utc>) -> Result<bool, AppError> {
    let row = revoked_token::ActiveModel { jti: Set(jti.to_string()), expires_at: Set(expires_at) };
    let inserted = revoked_token::Entity::insert(row)
        .on_conflict_do_nothing_on([revoked_token::Column::Jti])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
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
