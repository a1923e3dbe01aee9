//! Readiness: is every dependency a request needs there?

use migration::{Migrator, MigratorTrait};
use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// Why a check failed, in words safe to show (never a driver message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
}

impl Check {
    fn new(name: &'static str, failure: Option<&'static str>) -> Self {
        Self { name, ok: failure.is_none(), detail: failure }
    }
}

/// Database reachable, migrations applied, Redis reachable when it holds
/// the blocklist.
pub async fn readiness(state: &AppState) -> Readiness {
    let (db, blocklist) = (&state.db, state.blocklist.as_ref());
    let database = db.ping().await.err().map(|_| "the database does not answer");
    let migrations = match (database, Migrator::get_pending_migrations(db).await) {
        (Some(_), _) => Some("unknown while the database is down"),
        (None, Ok(pending)) if pending.is_empty() => None,
        (None, Ok(_)) => Some("migrations are pending: run `storegate migrate up`"),
        (None, Err(_)) => Some("could not read the migration table"),
    };
    let mut checks = vec![Check::new("database", database), Check::new("migrations", migrations)];
    if blocklist.backend() == "redis" {
        let redis = blocklist.ping().await.err().map(|_| "redis does not answer");
        checks.push(Check::new("redis", redis));
    }
    Readiness { ready: checks.iter().all(|c| c.ok), checks }
}
