use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Stores::Table)
                    .if_not_exists()
                    .col(pk_auto(Stores::Id))
                    .col(string_len(Stores::Name, 320))
                    .col(string_len(Stores::NameKey, 320))
                    .col(timestamp_with_time_zone(Stores::CreatedAt))
                    .col(timestamp_with_time_zone(Stores::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Named, so the domain layer can tell this violation from others.
        manager
            .create_index(
                Index::create()
                    .name("stores_name_key_key")
                    .table(Stores::Table)
                    .col(Stores::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Stores::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Stores {
    Table,
    Id,
    Name,
    NameKey,
    CreatedAt,
    UpdatedAt,
}
