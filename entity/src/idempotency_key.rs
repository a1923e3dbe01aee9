use sea_orm::entity::prelude::*;

/// A create made under an `Idempotency-Key`: claimed before the create runs,
/// then holding its answer for replay (docs/API.md §3.2). Kept 24 hours.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// Keys are per user: another user's identical key is another row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 (hex) of the request's method, path and body bytes.
    pub fingerprint: String,
    /// The answer's status; `None` while the first request still runs.
    pub status: Option<i16>,
    pub location: Option<String>,
    /// The answer's JSON body.
    pub body: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
