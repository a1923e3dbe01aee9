//! In-process tests of the whole router, REST and GraphQL, on SQLite (and
//! PostgreSQL when `TEST_DATABASE_URL` is set).

mod auth;
mod catalog;
mod common;
mod conditional;
mod constraints;
mod faults;
mod graphql_cost;
mod graphql_http;
mod http_errors;
mod http_server;
mod idempotency;
mod items;
mod jwks;
mod operations;
mod ownership;
mod parity;
mod pool;
mod querying;
mod sessions;
mod sockets;
mod stores;
mod subscriptions;
mod throttle;
mod todos;
mod tokens;
