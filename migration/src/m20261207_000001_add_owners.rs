//! Ownership (issue #30): stores and products remember the user who made
//! them. Existing rows keep no owner, and only admins may change those.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables that gain an owner.
const OWNED: [&str; 2] = ["stores", "products"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in OWNED {
            // Written out: sea-query cannot add a foreign key to an existing
            // SQLite table, and this form (a column constraint, NULL by
            // default) reads the same on SQLite and PostgreSQL. Deleting a
            // user leaves their rows in place, without an owner.
            db.execute_unprepared(&format!(
                r#"ALTER TABLE "{table}" ADD COLUMN "owner_id" integer NULL
                   CONSTRAINT "{table}_owner_id_fkey" REFERENCES "users" ("id") ON DELETE SET NULL"#
            ))
            .await?;
            // Deleting a user looks its rows up by owner.
            manager
                .create_index(
                    Index::create()
                        .name(format!("{table}_owner_id_idx"))
                        .table(Alias::new(table))
                        .col(Alias::new("owner_id"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in OWNED {
            manager
                .drop_index(
                    Index::drop().name(format!("{table}_owner_id_idx")).table(Alias::new(table)).to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter().table(Alias::new(table)).drop_column(Alias::new("owner_id")).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
