//! storegate's schema, one migration per file (sea-orm-migration names a
//! migration after its file). Run on start-up and by `storegate migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users;
mod m20261122_000002_create_stores;
mod m20261122_000003_create_items;
mod m20261122_000004_create_factories;
mod m20261122_000005_create_products;
mod m20261122_000006_create_revoked_tokens;
mod m20261122_000007_create_todos;
mod m20261207_000001_add_owners;
mod m20261207_000001_create_idempotency_keys;
mod m20261207_000002_add_user_token_generation;
mod m20261207_000010_add_list_indexes;
mod m20261208_000001_add_search_text;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users::Migration),
            Box::new(m20261122_000002_create_stores::Migration),
            Box::new(m20261122_000003_create_items::Migration),
            Box::new(m20261122_000004_create_factories::Migration),
            Box::new(m20261122_000005_create_products::Migration),
            Box::new(m20261122_000006_create_revoked_tokens::Migration),
            Box::new(m20261122_000007_create_todos::Migration),
            Box::new(m20261207_000001_add_owners::Migration),
            Box::new(m20261207_000002_add_user_token_generation::Migration),
            Box::new(m20261207_000001_create_idempotency_keys::Migration),
            Box::new(m20261207_000010_add_list_indexes::Migration),
            Box::new(m20261208_000001_add_search_text::Migration),
        ]
    }
}
