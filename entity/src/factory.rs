use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "factories")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub address: String,
    pub city: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub established_year: Option<i32>,
    pub capacity_per_month: Option<i32>,
    #[sea_orm(column_type = "JsonBinary")]
    pub certifications: Certifications,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// A factory's certifications (e.g. "ISO 9001"), kept as a JSON array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Certifications(pub Vec<String>);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::product::Entity")]
    Product,
}

impl Related<super::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
