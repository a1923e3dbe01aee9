//! The GraphQL face: thin async-graphql resolvers over `crate::domain`,
//! served at `/graphql` (POST, GET for queries, GraphiQL for browsers).

pub mod connection;
pub mod context;
pub mod factories;
pub mod http;
pub mod items;
pub mod loaders;
pub mod products;
pub mod scalars;
pub mod stores;
pub mod todos;
pub mod users;

use async_graphql::{EmptySubscription, MergedObject, Schema};

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

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema without state: enough to print the SDL.
pub fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

pub fn build_schema(state: AppState) -> AppSchema {
    schema_builder().data(state).finish()
}

/// The SDL written to `schema.graphql` (`storegate schema graphql`).
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

pub use http::router;
