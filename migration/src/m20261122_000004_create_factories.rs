use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Factories::Table)
                    .if_not_exists()
                    .col(pk_auto(Factories::Id))
                    .col(string_len(Factories::Name, 320))
                    .col(string_len(Factories::Address, 800))
                    .col(string_len(Factories::City, 320))
                    .col(string_len(Factories::Country, 320))
                    .col(string_len_null(Factories::Phone, 160))
                    .col(string_len_null(Factories::Email, 320))
                    .col(integer_null(Factories::EstablishedYear))
                    .col(integer_null(Factories::CapacityPerMonth))
                    .col(json_binary(Factories::Certifications))
                    .col(timestamp_with_time_zone(Factories::CreatedAt))
                    .col(timestamp_with_time_zone(Factories::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Factories::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Factories {
    Table,
    Id,
    Name,
    Address,
    City,
    Country,
    Phone,
    Email,
    EstablishedYear,
    CapacityPerMonth,
    Certifications,
    CreatedAt,
    UpdatedAt,
}
