//! The domain layer: every query and every permission rule, one module per
//! resource. REST handlers and GraphQL resolvers only call into here, so the
//! two faces cannot disagree (docs/API.md §6).

pub mod constraints;
pub mod demo;
pub mod factories;
pub mod health;
pub mod input;
pub mod items;
pub mod money;
pub mod pagination;
pub mod permissions;
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
