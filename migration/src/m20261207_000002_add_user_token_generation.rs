//! "Log out everywhere" and password changes (issue #30): a per-user
//! counter that every token carries (`gen`). Raising it refuses every
//! token issued before, on every instance, without listing them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(integer(Users::TokenGeneration).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Users::Table).drop_column(Users::TokenGeneration).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    TokenGeneration,
}
