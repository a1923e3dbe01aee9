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
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::domain::revocations::{self, SessionCheck};
use crate::domain::users;
use crate::error::AppError;

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

/// How long a Redis command may take before the request fails with 503.
const REDIS_TIMEOUT: Duration = Duration::from_millis(1000);
/// What a client is told to wait when Redis is unreachable.
const RETRY_AFTER_SECS: u64 = 5;

pub struct RedisBlocklist {
    client: redis::Client,
    /// Connected on first use (and retried on the next request if that
    /// fails), so the server starts even while Redis is briefly away.
    manager: OnceCell<ConnectionManager>,
    prefix: String,
}

impl RedisBlocklist {
    /// # Errors
    /// An unparseable URL. Reachability is checked on use, not here.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            manager: OnceCell::new(),
            prefix: "storegate:revoked:".into(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, AppError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                self.client.get_connection_manager_with_config(config).await
            })
            .await
            .map_err(unavailable)?;
        Ok(manager.clone())
    }

    fn key(&self, jti: Uuid) -> String {
        format!("{}{jti}", self.prefix)
    }
}

fn unavailable(error: redis::RedisError) -> AppError {
    tracing::warn!(error = %error, "redis unavailable; refusing authenticated requests");
    AppError::ServiceUnavailable { retry_after_secs: RETRY_AFTER_SECS }
}

#[async_trait]
impl Blocklist for RedisBlocklist {
    async fn revoke(&self, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), AppError> {
        let remaining = (expires_at - Utc::now()).num_seconds();
        if remaining <= 0 {
            return Ok(()); // Already expired: nothing left to refuse.
        }
        let mut connection = self.connection().await?;
        connection.set_ex::<_, _, ()>(self.key(jti), 1u8, remaining as u64).await.map_err(unavailable)
    }

    async fn is_revoked(&self, jti: Uuid) -> Result<bool, AppError> {
        let mut connection = self.connection().await?;
        connection.exists(self.key(jti)).await.map_err(unavailable)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), AppError> {
        let mut connection = self.connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await.map(|_| ()).map_err(unavailable)
    }
}
