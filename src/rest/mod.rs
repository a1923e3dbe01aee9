//! The REST face: thin axum handlers under `/api`, one module per resource.
//! Handlers parse, call `crate::domain`, and shape the answer; nothing here
//! queries the database or decides a permission.

pub mod auth;
pub mod conditional;
pub mod extract;
pub mod factories;
pub mod idempotency;
pub mod inputs;
pub mod items;
pub mod products;
pub mod responses;
pub mod stores;
pub mod todos;

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;

/// Where the OpenAPI document and Swagger UI are served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";

/// Every REST route, with the OpenAPI document its handlers describe.
/// `authenticate` wraps the routes that take an access token; the refresh
/// route presents a *refresh* token as its bearer, so it sits outside that
/// layer and checks its own.
fn routes(
    authenticate: impl FnOnce(OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let with_access_tokens = OpenApiRouter::new()
        .nest("/api/auth", auth::router())
        .nest("/api/stores", stores::router())
        .nest("/api/items", items::router())
        .nest("/api/factories", factories::router())
        .nest("/api/products", products::router())
        .nest("/api/todos", todos::router());
    authenticate(with_access_tokens).nest("/api/auth", auth::refresh_router())
}

/// The OpenAPI document of the REST face (`crate::openapi::document`).
pub fn openapi() -> OpenApi {
    crate::openapi::finish(routes(|routes| routes).into_openapi())
}

pub fn router(state: AppState) -> Router {
    let layer = axum::middleware::from_fn_with_state(state.clone(), extract::authenticate_every_request);
    // Inside the authentication layer: a key belongs to the caller it names.
    let idempotent = axum::middleware::from_fn_with_state(state.clone(), idempotency::replay_creates);
    let (router, api) = routes(|routes| routes.route_layer(idempotent).route_layer(layer)).split_for_parts();
    // Outside the authentication layer: the docs are public, whatever
    // Swagger UI's "Authorize" dialog holds.
    let docs = SwaggerUi::new(DOCS_PATH)
        .url(OPENAPI_PATH, crate::openapi::finish(api))
        .config(Config::default().persist_authorization(true).display_operation_id(true));
    router.merge(docs).with_state(state)
}
