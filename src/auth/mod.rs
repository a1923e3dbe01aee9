//! Authentication: password hashing, token issue and verification, and the
//! `Viewer` that both faces hand to the domain layer.

pub mod blocklist;
pub mod password;
pub mod tokens;
pub mod viewer;

pub use blocklist::{Blocklist, DatabaseBlocklist, RedisBlocklist};
pub use tokens::{Claims, TokenKind, TokenService};
pub use viewer::{Role, Viewer, authenticate};
