use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Todos::Table)
                    .if_not_exists()
                    .col(pk_auto(Todos::Id))
                    .col(integer(Todos::OwnerId))
                    .col(string_len(Todos::Title, 800))
                    .col(string_len(Todos::Status, 16))
                    .col(timestamp_with_time_zone_null(Todos::CompletedAt))
                    .col(timestamp_with_time_zone(Todos::CreatedAt))
                    .col(timestamp_with_time_zone(Todos::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("todos_owner_id_fkey")
                            .from(Todos::Table, Todos::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Every todo query is "this owner's, by id".
        manager
            .create_index(
                Index::create()
                    .name("todos_owner_id_id_idx")
                    .table(Todos::Table)
                    .col(Todos::OwnerId)
                    .col(Todos::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Todos::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Todos {
    Table,
    Id,
    OwnerId,
    Title,
    Status,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}
