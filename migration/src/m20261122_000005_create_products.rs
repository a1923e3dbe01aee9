use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000004_create_factories::Factories;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .if_not_exists()
                    .col(pk_auto(Products::Id))
                    .col(string_len(Products::Sku, 256))
                    .col(string_len(Products::Name, 320))
                    .col(text_null(Products::Description))
                    .col(big_integer(Products::PriceCents))
                    .col(integer(Products::FactoryId))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .col(timestamp_with_time_zone(Products::UpdatedAt))
                    // Never a silent cascade: a factory with products cannot go.
                    .foreign_key(
                        ForeignKey::create()
                            .name("products_factory_id_fkey")
                            .from(Products::Table, Products::FactoryId)
                            .to(Factories::Table, Factories::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("products_sku_key")
                    .table(Products::Table)
                    .col(Products::Sku)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // `?factory_id=` pages and the `Factory.products` loader.
        manager
            .create_index(
                Index::create()
                    .name("products_factory_id_id_idx")
                    .table(Products::Table)
                    .col(Products::FactoryId)
                    .col(Products::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Products::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Products {
    Table,
    Id,
    Sku,
    Name,
    Description,
    PriceCents,
    FactoryId,
    CreatedAt,
    UpdatedAt,
}
