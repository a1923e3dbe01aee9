use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .if_not_exists()
                    .col(integer(IdempotencyKeys::UserId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::Fingerprint, 64))
                    // NULL while the first request still runs.
                    .col(small_integer_null(IdempotencyKeys::Status))
                    .col(text_null(IdempotencyKeys::Location))
                    .col(text_null(IdempotencyKeys::Body))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    // Keys are per user: the pair is what a claim conflicts on.
                    .primary_key(Index::create().col(IdempotencyKeys::UserId).col(IdempotencyKeys::Key))
                    .foreign_key(
                        ForeignKey::create()
                            .name("idempotency_keys_user_id_fkey")
                            .from(IdempotencyKeys::Table, IdempotencyKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The background purge deletes by age.
        manager
            .create_index(
                Index::create()
                    .name("idempotency_keys_created_at_idx")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    Fingerprint,
    Status,
    Location,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
