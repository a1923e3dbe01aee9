//! storegate: one set of data, two faces — a REST API under `/api` and a
//! GraphQL API at `/graphql` — over one domain layer.
//!
//! - `entity` (crate): SeaORM entities, the single source of truth.
//! - [`domain`]: every query and permission rule, per resource.
//! - [`rest`] and [`graphql`]: thin faces that parse, call the domain, shape.
//! - [`auth`]: passwords, tokens, and the `Viewer` both faces share.
//! - [`error`]: the one error type, rendered for each face.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod rest;
pub mod server;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tower_http::limit::RequestBodyLimitLayer;

pub use state::AppState;

/// The largest request body accepted (413 beyond).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The whole application as one router: the seam every test drives.
pub fn app(state: AppState) -> Router {
    rest::router(state.clone())
        .merge(graphql::router(state))
        .fallback(rest::problems::not_found)
        .layer(middleware::from_fn(rest::problems::problem_json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        // Also bounds bodies read as streams (GraphQL), which bypass the
        // extractor limit above.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
}
