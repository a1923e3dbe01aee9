use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_stores::Stores;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Items::Table)
                    .if_not_exists()
                    .col(pk_auto(Items::Id))
                    .col(integer(Items::StoreId))
                    .col(string_len(Items::Name, 320))
                    .col(big_integer(Items::PriceCents))
                    .col(timestamp_with_time_zone(Items::CreatedAt))
                    .col(timestamp_with_time_zone(Items::UpdatedAt))
                    // The contract: deleting a store removes its items.
                    .foreign_key(
                        ForeignKey::create()
                            .name("items_store_id_fkey")
                            .from(Items::Table, Items::StoreId)
                            .to(Stores::Table, Stores::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Store pages load their items by store id (DataLoader, `?store_id=`).
        manager
            .create_index(
                Index::create()
                    .name("items_store_id_id_idx")
                    .table(Items::Table)
                    .col(Items::StoreId)
                    .col(Items::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Items::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Items {
    Table,
    Id,
    StoreId,
    Name,
    PriceCents,
    CreatedAt,
    UpdatedAt,
}
