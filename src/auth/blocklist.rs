//! The token blocklist: revoked token ids, checked on every authenticated
//! request. Two implementations: the database (default; expired rows are
//! purged in the background) and Redis (`REDIS_URL`; a key per jti with
//! the token's remaining lifetime as TTL), so that several instances share
//! revocations. If Redis is configured but unreachable, checks fail closed:
//! 503 with `Retry-After`, never a silent pass.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::domain::error::AppError;
use crate::domain::revocations::{self, SessionCheck};
use crate::domain::users;
use crate::redis_link::LazyRedis;

#[async_trait]
pub trait Blocklist: Send + Sync {
    /// Revokes `jti` until `expires_at` (after which the token is refused
    /// for having expired anyway).
    async fn revoke(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError>;

    async fn is_revoked(&self, jti: Uuid) -> Result<bool, AppError>;

    /// The two checks of every authenticated request: is `jti` revoked,
    /// does user `user_id` still exist. By default the blocklist and the
    /// database are asked side by side; the database blocklist answers
    /// both in one statement.
    async fn check_session(
        &self,
        db: &DatabaseConnection,
        jti: Uuid,
        user_id: i32,
    ) -> Result<SessionCheck, AppError> {
        let (revoked, user_exists) = tokio::join!(self.is_revoked(jti), users::exists(db, user_id));
        Ok(SessionCheck { revoked: revoked?, user_exists: user_exists? })
    }

    /// Where revocations are kept, for logs and readiness.
    fn backend(&self) -> &'static str;

    /// Whether the store answers (readiness).
    async fn ping(&self) -> Result<(), AppError>;
}

pub struct DatabaseBlocklist {
    db: DatabaseConnection,
}

impl DatabaseBlocklist {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Purges expired rows every `every`, for as long as the process runs.
    pub fn spawn_purge(db: DatabaseConnection, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                match revocations::purge_expired(&db).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "purged expired token revocations"),
                    Err(_) => tracing::warn!("could not purge expired token revocations; will retry"),
                }
            }
        })
    }
}

#[async_trait]
impl Blocklist for DatabaseBlocklist {
    async fn revoke(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError> {
        revocations::revoke(&self.db, jti, expires_at).await
    }

    async fn is_revoked(&self, jti: Uuid) -> Result<bool, AppError> {
        revocations::is_revoked(&self.db, jti).await
    }

    async fn check_session(
        &self,
        db: &DatabaseConnection,
        jti: Uuid,
        user_id: i32,
    ) -> Result<SessionCheck, AppError> {
        revocations::check_session(db, jti, user_id).await
    }

    fn backend(&self) -> &'static str {
        "database"
    }

    async fn ping(&self) -> Result<(), AppError> {
        Ok(self.db.ping().await?)
    }
}

pub struct RedisBlocklist {
    redis: LazyRedis,
    prefix: String,
}

impl RedisBlocklist {
    /// # Errors
    /// An unparseable URL. Reachability is checked on use, not here.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            redis: LazyRedis::new(url, "authenticated requests")?,
            prefix: "storegate:revoked:".into(),
        })
    }

    fn key(&self, jti: Uuid) -> String {
        format!("{}{jti}", self.prefix)
    }
}

#[async_trait]
impl Blocklist for RedisBlocklist {
    async fn revoke(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError> {
        let remaining = (expires_at - Utc::now()).num_seconds();
        if remaining <= 0 {
            return Ok(()); // Already expired: nothing left to refuse.
        }
        let mut connection = self.redis.connection().await?;
        connection
            .set_ex::<_, _, ()>(self.key(jti), 1u8, remaining as u64)
            .await
            .map_err(|e| self.redis.unavailable(e))
    }

    async fn is_revoked(&self, jti: Uuid) -> Result<bool, AppError> {
        let mut connection = self.redis.connection().await?;
        connection.exists(self.key(jti)).await.map_err(|e| self.redis.unavailable(e))
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), AppError> {
        let mut connection = self.redis.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
            .map_err(|e| self.redis.unavailable(e))
    }
}
