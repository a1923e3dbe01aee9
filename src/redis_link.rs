//! One lazily connected Redis link, shared by the token blocklist and the
//! throttle counters. It connects on first use (and retries on the next
//! request if that fails), so the server starts even while Redis is
//! briefly away; when Redis is unreachable, callers fail closed with 503.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::domain::error::AppError;

/// How long a Redis command may take before the request fails with 503.
const TIMEOUT: Duration = Duration::from_millis(1000);
/// What a client is told to wait when Redis is unreachable.
const RETRY_AFTER_SECS: u64 = 5;

pub struct LazyRedis {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    /// What is refused while Redis is away, for the log line.
    refusing: &'static str,
}

impl LazyRedis {
    /// # Errors
    /// An unparseable URL. Reachability is checked on use, not here.
    pub fn new(url: &str, refusing: &'static str) -> Result<Self, redis::RedisError> {
        Ok(Self { client: redis::Client::open(url)?, manager: OnceCell::new(), refusing })
    }

    /// # Errors
    /// `ServiceUnavailable` when Redis cannot be reached.
    pub async fn connection(&self) -> Result<ConnectionManager, AppError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(1);
                self.client.get_connection_manager_with_config(config).await
            })
            .await
            .map_err(|error| self.unavailable(error))?;
        Ok(manager.clone())
    }

    /// The 503 for a command that failed, logged once per failure.
    pub fn unavailable(&self, error: redis::RedisError) -> AppError {
        tracing::warn!(error = %error, "redis unavailable; refusing {}", self.refusing);
        AppError::ServiceUnavailable { retry_after_secs: RETRY_AFTER_SECS }
    }
}
