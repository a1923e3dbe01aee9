//! The schema's unique constraints, known by the names the migrations give
//! them. A unique violation is reported as the rule it broke only when the
//! database names that rule; any other (a primary key, an index added
//! later) stays an internal error rather than blaming the wrong field.

use sea_orm::sqlx::Error as Sqlx;
use sea_orm::{DbErr, RuntimeErr};

/// A unique constraint that a client's write can violate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// `users.email`: one account per (lower-cased) address.
    UserEmail,
    /// `stores.name_key`: store names, case-insensitively.
    StoreName,
    /// `products.sku`.
    ProductSku,
}

impl Unique {
    const ALL: [Self; 3] = [Self::UserEmail, Self::StoreName, Self::ProductSku];

    /// The name PostgreSQL reports: the migration's index name, or for the
    /// column constraint on `users.email` the name PostgreSQL gives one
    /// (`<table>_<column>_key`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::UserEmail => "users_email_key",
            Self::StoreName => "stores_name_key_key",
            Self::ProductSku => "products_sku_key",
        }
    }

    /// What SQLite reports instead of a name: the constrained columns.
    pub const fn columns(self) -> &'static str {
        match self {
            Self::UserEmail => "users.email",
            Self::StoreName => "stores.name_key",
            Self::ProductSku => "products.sku",
        }
    }
}

/// The known unique constraint that `error` violated; `None` when `error`
/// is not a unique violation, or is one of a constraint not listed here.
pub fn violated(error: &DbErr) -> Option<Unique> {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) = error
    else {
        return None;
    };
    let Sqlx::Database(database) = inner.as_ref() else { return None };
    if !database.is_unique_violation() {
        return None;
    }
    match database.constraint() {
        Some(name) => Unique::ALL.into_iter().find(|unique| unique.name() == name),
        // SQLite: "UNIQUE constraint failed: stores.name_key" (several
        // columns are listed comma-separated; an index on expressions is
        // named: "index 'stores_x'", and none of ours is one).
        None => {
            let failed = database.message().strip_prefix("UNIQUE constraint failed: ")?;
            Unique::ALL.into_iter().find(|unique| unique.columns() == failed)
        }
    }
}
