//! The domain layer: every query and every permission rule, one module per
//! resource. REST handlers and GraphQL resolvers only call into here, so the
//! two faces cannot disagree (docs/API.md §6).
//!
//! Every function a face calls takes the application state (`&AppState`)
//! first, then the caller (`Option<&Viewer>`) when a rule depends on who
//! asks. Errors are [`error::AppError`]; each face renders it its own way.
//! Only storage helpers that run without a server (the blocklist's table,
//! `seed-demo`, `user grant-admin`) take a bare database connection.

pub mod constraints;
pub mod demo;
pub mod error;
pub mod factories;
pub mod health;
pub mod idempotency;
pub mod input;
pub mod items;
pub mod listing;
pub mod money;
pub mod pagination;
pub mod permissions;
pub mod precondition;
pub mod products;
pub mod revocations;
pub mod statements;
pub mod stores;
pub mod throttle;
pub mod time;
pub mod todos;
pub mod users;

pub use input::Patch;
pub use money::Money;
pub use pagination::{Page, PageRequest};
