//! The token blocklist: revoked token ids and session families, and spent
//! refresh tokens, checked on every authenticated request. Two
//! implementations: the database (default; expired rows are purged in the
//! background) and Redis (`REDIS_URL`; a key per id with the remaining
//! lifetime of what it refuses as TTL), so that several instances share
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
    /// Revokes `id` (a token's `jti`, or a session's family) until
    /// `expires_at` (after which its tokens are refused for having expired
    /// anyway).
    async fn revoke(&self, id: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError>;

    /// Whether the token `jti` or its session `family` is revoked.
    async fn is_revoked(&self, jti: Uuid, family: Uuid) -> Result<bool, AppError>;

    /// Spends refresh token `jti` (revoking it until `expires_at`):
    /// `true` for its first use only. Atomic, and shared like revocations:
    /// of concurrent spends of one token, on any instances, one wins.
    async fn spend(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<bool, AppError>;

    /// The checks of every authenticated request: is the token or its
    /// session revoked, and what is user `user_id`'s token generation (none:
    /// the user is gone). By default the blocklist and the database are
    /// asked side by side; the database blocklist answers both in one
    /// statement.
    async fn check_session(
        &self,
        db: &DatabaseConnection,
        jti: Uuid,
        family: Uuid,
        user_id: i32,
    ) -> Result<SessionCheck, AppError> {
        let (revoked, generation) =
            tokio::join!(self.is_revoked(jti, family), users::token_generation(db, user_id));
        Ok(SessionCheck { revoked: revoked?, user_generation: generation? })
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
    async fn revoke(&self, id: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError> {
        revocations::revoke(&self.db, id, expires_at).await
    }

    async fn is_revoked(&self, jti: Uuid, family: Uuid) -> Result<bool, AppError> {
        Ok(revocations::is_revoked(&self.db, jti).await? || revocations::is_revoked(&self.db, family).await?)
    }

    async fn spend(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<bool, AppError> {
        revocations::spend(&self.db, jti, expires_at).await
    }

    async fn check_session(
        &self,
        db: &DatabaseConnection,
        jti: Uuid,
        family: Uuid,
        user_id: i32,
    ) -> Result<SessionCheck, AppError> {
        revocations::check_session(db, jti, family, user_id).await
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
    async fn revoke(&self, id: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError> {
        let remaining = (expires_at - Utc::now()).num_seconds();
        if remaining <= 0 {
            return Ok(()); // Already expired: nothing left to refuse.
        }
        let mut connection = self.redis.connection().await?;
        connection
            .set_ex::<_, _, ()>(self.key(id), 1u8, remaining as u64)
            .await
            .map_err(|e| self.redis.unavailable(e))
    }

    /// One round trip: `EXISTS` counts how many of the two keys exist.
    async fn is_revoked(&self, jti: Uuid, family: Uuid) -> Result<bool, AppError> {
        let mut connection = self.redis.connection().await?;
        let found: u32 = connection
            .exists(&[self.key(jti), self.key(family)])
            .await
            .map_err(|e| self.redis.unavailable(e))?;
        Ok(found > 0)
    }

    /// `SET … NX`: Redis sets the key for one caller only.
    async fn spend(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<bool, AppError> {
        // At least a second: a token this close to expiry is still
        // accepted within the leeway, and must not be spent twice.
        let remaining = (expires_at - Utc::now()).num_seconds().max(1);
        let mut connection = self.redis.connection().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(jti))
            .arg(1u8)
            .arg("NX")
            .arg("EX")
            .arg(remaining)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.redis.unavailable(e))?;
        Ok(set.is_some())
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
