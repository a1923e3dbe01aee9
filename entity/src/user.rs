use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Trimmed and lower-cased; unique.
    #[sea_orm(unique)]
    pub email: String,
    /// An argon2id PHC string; never leaves the domain layer.
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: DateTimeUtc,
    /// Every token carries the value this had when it was issued (its `gen`
    /// claim); raising it (log out everywhere, a password change) refuses
    /// every earlier token of the user.
    pub token_generation: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
