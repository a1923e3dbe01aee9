//! Application state shared by every handler and resolver.

use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::auth::{Blocklist, DatabaseBlocklist, RedisBlocklist, TokenService};
use crate::config::Config;
use crate::domain::precondition::WriteGate;
use crate::domain::throttle::{
    CounterStore, MAX_FAILURES_PER_ADDRESS, MEMORY_STORE_CAPACITY, MemoryCounterStore, RedisCounterStore,
    Throttle,
};
use crate::events::EventBus;
use crate::observability::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub tokens: Arc<TokenService>,
    pub blocklist: Arc<dyn Blocklist>,
    /// Login and sign-up limits (docs/API.md §5).
    pub throttle: Arc<Throttle>,
    pub events: Arc<EventBus>,
    pub config: Arc<Config>,
    /// This app's own recorder, rendered at `/metrics`.
    pub metrics: Metrics,
    /// The order of resource writes on SQLite.
    pub writes: WriteGate,
}

impl AppState {
    /// # Errors
    /// An unparseable `REDIS_URL`. (Reachability is checked per request,
    /// failing closed.)
    pub fn new(db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        let tokens =
            TokenService::from_keys(&config.jwt_keys, config.access_token_ttl, config.refresh_token_ttl)
                .context("the token signing key cannot be used")?;
        let blocklist: Arc<dyn Blocklist> = match &config.redis_url {
            Some(url) => Arc::new(RedisBlocklist::new(url).context("REDIS_URL is not a valid Redis URL")?),
            None => Arc::new(DatabaseBlocklist::new(db.clone())),
        };
        let redis = config.redis_url.as_deref().map(redis::Client::open).transpose()?;
        let events = EventBus::new(redis);
        // Throttle counters: in Redis (shared by every instance) when
        // configured, else in this process, bounded.
        let counters: Arc<dyn CounterStore> = match &config.redis_url {
            Some(url) => Arc::new(RedisCounterStore::new(url).context("REDIS_URL is not a valid Redis URL")?),
            None => Arc::new(MemoryCounterStore::new(MEMORY_STORE_CAPACITY)),
        };
        let throttle = Throttle::new(
            counters,
            config.login_max_failures,
            MAX_FAILURES_PER_ADDRESS,
            config.signup_max_per_address,
        );
        Ok(Self {
            writes: WriteGate::for_connection(&db),
            db,
            tokens: Arc::new(tokens),
            blocklist,
            throttle: Arc::new(throttle),
            events,
            config: Arc::new(config),
            metrics: Metrics::new(),
        })
    }
}
