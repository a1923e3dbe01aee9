//! Application state shared by every handler and resolver.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::TokenService;
use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub tokens: Arc<TokenService>,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let tokens = TokenService::new(&config.jwt_secret, config.access_token_ttl, config.refresh_token_ttl);
        Self { db, tokens: Arc::new(tokens), config: Arc::new(config) }
    }
}
