//! The REST face: thin axum handlers under `/api`, one module per resource.
//! Handlers parse, call `crate::domain`, and shape the answer; nothing here
//! queries the database or decides a permission.

pub mod auth;
pub mod extract;
pub mod factories;
pub mod items;
pub mod problems;
pub mod products;
pub mod responses;
pub mod stores;
pub mod todos;

use axum::Router;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/auth", auth::router())
        .nest("/api/stores", stores::router())
        .nest("/api/items", items::router())
        .nest("/api/factories", factories::router())
        .nest("/api/products", products::router())
        .nest("/api/todos", todos::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), extract::authenticate_every_request))
        .nest("/api/auth", auth::refresh_router())
        .with_state(state)
}
