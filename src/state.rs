//! Application state shared by every handler and resolver.

use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::auth::{Blocklist, DatabaseBlocklist, RedisBlocklist, TokenService};
use crate::config::Config;
use crate::domain::throttle::{LoginThrottle, MAX_FAILURES_PER_ADDRESS, WINDOW};
use crate::events::EventBus;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub tokens: Arc<TokenService>,
    pub blocklist: Arc<dyn Blocklist>,
    pub login_throttle: Arc<LoginThrottle>,
    pub events: Arc<EventBus>,
    pub config: Arc<Config>,
}

impl AppState {
    /// # Errors
    /// An unparseable `REDIS_URL`. (Reachability is checked per request,
    /// failing closed.)
    pub fn new(db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        let tokens = TokenService::new(&config.jwt_secret, config.access_token_ttl, config.refresh_token_ttl);
        let blocklist: Arc<dyn Blocklist> = match &config.redis_url {
            Some(url) => Arc::new(RedisBlocklist::new(url).context("REDIS_URL is not a valid Redis URL")?),
            None => Arc::new(DatabaseBlocklist::new(db.clone())),
        };
        let redis = config.redis_url.as_deref().map(redis::Client::open).transpose()?;
        let events = EventBus::new(redis);
        let login_throttle = LoginThrottle::new(config.login_max_failures, MAX_FAILURES_PER_ADDRESS, WINDOW);
        Ok(Self {
            db,
            tokens: Arc::new(tokens),
            blocklist,
            login_throttle: Arc::new(login_throttle),
            events,
            config: Arc::new(config),
        })
    }
}
