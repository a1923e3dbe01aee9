//! SeaORM entities: the single source of truth for storegate's data.
//!
//! Each module is one table. The domain layer (`storegate::domain`) is the
//! only code that queries them.

pub mod factory;
pub mod idempotency_key;
pub mod item;
pub mod product;
pub mod revoked_token;
pub mod store;
pub mod todo;
pub mod user;

pub mod prelude {
    pub use super::factory::Entity as Factory;
    pub use super::idempotency_key::Entity as IdempotencyKey;
    pub use super::item::Entity as Item;
    pub use super::product::Entity as Product;
    pub use super::revoked_token::Entity as RevokedToken;
    pub use super::store::Entity as Store;
    pub use super::todo::Entity as Todo;
    pub use super::user::Entity as User;
}
