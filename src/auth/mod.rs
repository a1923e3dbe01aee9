//! Authentication: password hashing, token issue and verification, and the
//! `Viewer` that both faces hand to the domain layer.

pub mod blocklist;
pub mod keys;
pub mod password;
pub mod tokens;
pub mod viewer;

pub use blocklist::{Blocklist, DatabaseBlocklist, RedisBlocklist};
pub use keys::{Ed25519PrivateKey, Ed25519PublicKey, JwtKeys};
pub use tokens::{Claims, TokenKind, TokenService};
pub use viewer::{Role, Viewer, authenticate};
