use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    /// Money is exact: integer cents, never a float.
    pub price_cents: i64,
    pub factory_id: i32,
    /// The user who created the product; `None` for products made before
    /// ownership existed or whose owner was deleted (admins only, then).
    pub owner_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::factory::Entity",
        from = "Column::FactoryId",
        to = "super::factory::Column::Id",
        on_delete = "Restrict"
    )]
    Factory,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Owner,
}

impl Related<super::factory::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Factory.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
