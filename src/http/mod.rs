//! HTTP plumbing both faces share: the client's address and the
//! problem+json answer to errors that no handler produced. Nothing here
//! knows REST from GraphQL, so `crate::rest` and `crate::graphql` can both
//! use it without using each other.

pub mod client_addr;
pub mod problem;
pub mod problems;

pub use client_addr::{ClientAddr, ClientAddrLayer};
