//! storegate: one set of data, two faces — a REST API under `/api` and a
//! GraphQL API at `/graphql` — over one domain layer.
//!
//! - `entity` (crate): SeaORM entities, the single source of truth.
//! - [`domain`]: every query and permission rule, per resource.
//! - [`rest`] and [`graphql`]: thin faces that parse, call the domain, shape.
//! - [`http`]: plumbing both faces share (client address, problem+json
//!   for errors no handler produced).
//! - [`auth`]: passwords, tokens, and the `Viewer` both faces share.
//! - [`error`]: the one error type, rendered for each face.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod graphql;
pub mod http;
pub mod json;
pub mod observability;
pub mod openapi;
pub mod redis_link;
pub mod rest;
pub mod server;
pub mod state;
pub mod telemetry;

use axum::Router;

pub use state::AppState;

pub use observability::BODY_LIMIT_BYTES;

/// The whole application as one router: the seam every test drives.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let routes = rest::router(state.clone())
        .merge(graphql::router(state.clone()))
        .merge(observability::router(state.clone()))
        .fallback(http::problems::not_found);
    let app = observability::layers(routes, &state);
    // Outermost, so every layer and handler sees the same client address.
    match &config.trusted_client_ip_header {
        Some(header) => app.layer(http::ClientAddrLayer::new(header.clone())),
        None => app,
    }
}
