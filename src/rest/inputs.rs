//! The JSON bodies the REST face reads, described for the OpenAPI document.
//!
//! Each converts into the domain's input of the same name, which knows
//! nothing of HTTP or OpenAPI; GraphQL builds those inputs from its own
//! types. The validation rules live in the domain: the schemas here only
//! describe them (`crate::openapi`'s fragments).

use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::{Patch, factories, items, products, stores, todos, users};

/// An email and a password: sign-up and login take the same body.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse"}))]
pub struct Credentials {
    /// Trimmed and lower-cased; sign-up requires an email address.
    #[schema(format = Email)]
    pub email: String,
    /// Sign-up requires at least 8 characters.
    #[schema(min_length = 8)]
    pub password: String,
}

impl From<Credentials> for users::Credentials {
    fn from(c: Credentials) -> Self {
        Self { email: c.email, password: c.password }
    }
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "correct horse", "new_password": "battery staple"}))]
pub struct PasswordChange {
    /// The caller's password now.
    pub current_password: String,
    /// At least 8 characters.
    #[schema(min_length = 8)]
    pub new_password: String,
}

impl From<PasswordChange> for users::PasswordChange {
    fn from(c: PasswordChange) -> Self {
        Self { current_password: c.current_password, new_password: c.new_password }
    }
}

/// A store write (POST/PUT: every field; PATCH: the fields present).
#[derive(Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"name": "Corner Shop"}))]
pub struct StoreInput {
    /// Unique case-insensitively.
    #[schema(schema_with = crate::openapi::name, required = true)]
    pub name: Patch<String>,
}

impl From<StoreInput> for stores::StoreInput {
    fn from(i: StoreInput) -> Self {
        Self { name: i.name }
    }
}

/// An item write (POST/PUT: every field; PATCH: the fields present).
#[derive(Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"name": "Tea", "price": 12.99, "store_id": 1}))]
pub struct ItemInput {
    #[schema(schema_with = crate::openapi::name, required = true)]
    pub name: Patch<String>,
    #[schema(schema_with = crate::openapi::price, required = true)]
    pub price: Patch<f64>,
    /// An existing store (an unknown id is a 422 on this field).
    #[schema(schema_with = crate::openapi::id, required = true)]
    pub store_id: Patch<i32>,
}

impl From<ItemInput> for items::ItemInput {
    fn from(i: ItemInput) -> Self {
        Self { name: i.name, price: i.price, store_id: i.store_id }
    }
}

/// A factory write (POST/PUT: every required field; PATCH: the fields present).
#[derive(Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({
    "name": "Hsinchu Works", "address": "1 Science Park Road", "city": "Hsinchu", "country": "Taiwan",
    "phone": "+886-3-555-0100", "email": "plant@example.com", "established_year": 1987,
    "capacity_per_month": 12000, "certifications": ["ISO 9001"]
}))]
pub struct FactoryInput {
    #[schema(schema_with = crate::openapi::name, required = true)]
    pub name: Patch<String>,
    #[schema(schema_with = crate::openapi::address, required = true)]
    pub address: Patch<String>,
    #[schema(schema_with = crate::openapi::place, required = true)]
    pub city: Patch<String>,
    #[schema(schema_with = crate::openapi::place, required = true)]
    pub country: Patch<String>,
    #[schema(schema_with = crate::openapi::phone)]
    pub phone: Patch<String>,
    #[schema(schema_with = crate::openapi::email)]
    pub email: Patch<String>,
    #[schema(schema_with = crate::openapi::established_year)]
    pub established_year: Patch<i32>,
    #[schema(schema_with = crate::openapi::capacity_per_month)]
    pub capacity_per_month: Patch<i32>,
    #[schema(schema_with = crate::openapi::certifications)]
    pub certifications: Patch<Vec<String>>,
}

impl From<FactoryInput> for factories::FactoryInput {
    fn from(i: FactoryInput) -> Self {
        Self {
            name: i.name,
            address: i.address,
            city: i.city,
            country: i.country,
            phone: i.phone,
            email: i.email,
            established_year: i.established_year,
            capacity_per_month: i.capacity_per_month,
            certifications: i.certifications,
        }
    }
}

/// A product write (POST/PUT: every required field; PATCH: the fields present).
#[derive(Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({
    "sku": "TEA-001", "name": "Green tea", "description": "Loose leaf, 100 g", "price": 4.5, "factory_id": 1
}))]
pub struct ProductInput {
    /// Unique.
    #[schema(schema_with = crate::openapi::sku, required = true)]
    pub sku: Patch<String>,
    #[schema(schema_with = crate::openapi::name, required = true)]
    pub name: Patch<String>,
    #[schema(schema_with = crate::openapi::description)]
    pub description: Patch<String>,
    #[schema(schema_with = crate::openapi::price, required = true)]
    pub price: Patch<f64>,
    /// An existing factory (an unknown id is a 422 on this field).
    #[schema(schema_with = crate::openapi::id, required = true)]
    pub factory_id: Patch<i32>,
}

impl From<ProductInput> for products::ProductInput {
    fn from(i: ProductInput) -> Self {
        Self {
            sku: i.sku,
            name: i.name,
            description: i.description,
            price: i.price,
            factory_id: i.factory_id,
        }
    }
}

/// A todo write: POST takes `title` (and may set `status`); PATCH takes
/// either or both.
#[derive(Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"title": "Restock the tea shelf"}))]
pub struct TodoInput {
    #[schema(schema_with = crate::openapi::title, required = true)]
    pub title: Patch<String>,
    #[schema(schema_with = crate::openapi::todo_status)]
    pub status: Patch<StatusName>,
}

impl From<TodoInput> for todos::TodoInput {
    fn from(i: TodoInput) -> Self {
        Self { title: i.title, status: i.status.map(todos::StatusName::from) }
    }
}

/// The wire names of a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TodoStatus)]
pub enum StatusName {
    Open,
    Completed,
}

impl From<StatusName> for todos::StatusName {
    fn from(name: StatusName) -> Self {
        match name {
            StatusName::Open => Self::Open,
            StatusName::Completed => Self::Completed,
        }
    }
}
