//! The GraphQL face: thin async-graphql resolvers over `crate::domain`,
//! served at `/graphql` (POST, GET for queries, GraphiQL for browsers).

pub mod connection;
pub mod context;
pub mod cost;
pub mod documents;
pub mod error;
pub mod factories;
pub mod graphiql;
pub mod http;
pub mod items;
pub mod loaders;
pub mod products;
pub mod scalars;
pub mod socket;
pub mod stores;
pub mod subscriptions;
pub mod todos;
pub mod users;

use async_graphql::{MergedObject, Schema};

use crate::state::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    users::UserQuery,
    stores::StoreQuery,
    items::ItemQuery,
    factories::FactoryQuery,
    products::ProductQuery,
    todos::TodoQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    users::UserMutation,
    stores::StoreMutation,
    items::ItemMutation,
    factories::FactoryMutation,
    products::ProductMutation,
    todos::TodoMutation,
);

pub type AppSchema = Schema<Query, Mutation, subscriptions::Subscription>;

/// The schema without state: enough to print the SDL.
pub fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, subscriptions::Subscription> {
    // `DateTime` is two Rust types, output and filter input (`scalars`).
    Schema::build_with_ignore_name_conflicts(
        Query::default(),
        Mutation::default(),
        subscriptions::Subscription,
        ["DateTime"],
    )
}

/// How deep an ordinary operation may nest (docs/API.md §4).
pub const MAX_DEPTH: usize = 10;
/// The cost budget: see [`cost::BUDGET`] (10,000) and the model in [`cost`].
pub const MAX_COMPLEXITY: usize = cost::BUDGET;
/// The most operations one batched request may carry.
pub const MAX_BATCH: usize = 10;

/// The schemas one server runs: ordinary operations under the depth limit
/// and the cost budget, and the standard introspection query (deeper than
/// 10 by nature: `ofType` chains) under limits of its own.
#[derive(Clone)]
pub struct Schemas {
    pub limited: AppSchema,
    /// `limited` without the rules that look at the document alone, for
    /// documents that already passed them (`documents::KnownDocument`).
    pub known_valid: AppSchema,
    /// `limited` with the budget checked by [`cost::CostLimit`], whose
    /// refusal names the cost: for operations over the websocket and for
    /// pricing what the others refuse ([`cost::execute`]). Slower per field
    /// than `limited` (see [`cost`]), so not for every HTTP request.
    pub costed: AppSchema,
    pub introspection: Option<AppSchema>,
}

pub fn build_schemas(state: AppState) -> Schemas {
    let introspection_enabled = state.config.graphql_introspection;
    let ordinary = || {
        let builder = schema_builder().data(state.clone()).limit_depth(MAX_DEPTH);
        if introspection_enabled { builder } else { builder.disable_introspection() }
    };
    let limited = || ordinary().limit_complexity(MAX_COMPLEXITY);
    let introspection = introspection_enabled.then(|| {
        schema_builder()
            .data(state.clone())
            .introspection_only()
            .limit_depth(24)
            .limit_complexity(2_000)
            .finish()
    });
    Schemas {
        limited: limited().finish(),
        // Fast still checks depth, complexity and fragment cycles.
        known_valid: limited().validation_mode(async_graphql::ValidationMode::Fast).finish(),
        costed: ordinary().extension(cost::CostLimit).finish(),
        introspection,
    }
}

/// The SDL written to `schema.graphql` (`storegate schema graphql`).
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

pub use http::router;
