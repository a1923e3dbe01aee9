//! Factories: public reads; admins create, update and delete. A factory
//! that still has products cannot be deleted (409), never a silent cascade.

use std::collections::HashMap;
use std::sync::LazyLock;

use entity::factory::{self, Certifications};
use entity::product;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, SelectModel, SqlErr,
};
use validator::{Validate, ValidationError};

use crate::auth::Viewer;
use crate::domain::error::AppError;
use crate::domain::input::{FieldErrors, Patch, WriteMode, trimmed};
use crate::domain::listing::{Kind, ListPage, ListRequest, Sortable, Spec};
use crate::domain::permissions::require_admin;
use crate::domain::precondition::{Expect, begin_write};
use crate::domain::statements::CachedStatement;
use crate::domain::time;
use crate::state::AppState;

/// A factory write (POST/PUT: every required field; PATCH: the fields present).
#[derive(Debug, Clone, Default)]
pub struct FactoryInput {
    pub name: Patch<String>,
    pub address: Patch<String>,
    pub city: Patch<String>,
    pub country: Patch<String>,
    pub phone: Patch<String>,
    pub email: Patch<String>,
    pub established_year: Patch<i32>,
    pub capacity_per_month: Patch<i32>,
    pub certifications: Patch<Vec<String>>,
}

pub const MAX_CERTIFICATIONS: usize = 50;

#[derive(Validate)]
struct FactoryRules {
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    name: Option<String>,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    address: Option<String>,
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    city: Option<String>,
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    country: Option<String>,
    #[validate(length(min = 1, max = 40, message = "must be 1 to 40 characters"))]
    phone: Option<String>,
    #[validate(email(message = "must be an email address"))]
    email: Option<String>,
    #[validate(range(min = 1800, max = 2100, message = "must be a year from 1800 to 2100"))]
    established_year: Option<i32>,
    #[validate(range(min = 0, message = "must be at least 0"))]
    capacity_per_month: Option<i32>,
    #[validate(custom(function = "validate_certifications"))]
    certifications: Option<Vec<String>>,
}

fn validate_certifications(list: &[String]) -> Result<(), ValidationError> {
    let message = if list.len() > MAX_CERTIFICATIONS {
        Some("must have at most 50 entries")
    } else if list.iter().any(|c| c.is_empty() || c.chars().count() > 80) {
        Some("each entry must be 1 to 80 characters")
    } else {
        None
    };
    match message {
        Some(message) => Err(ValidationError::new("certifications").with_message(message.into())),
        None => Ok(()),
    }
}

/// How factories are listed (docs/API.md §3.1).
pub static SPEC: Spec<factory::Column> = Spec {
    sorts: &[
        Sortable::new("name", factory::Column::Name, Kind::Text),
        Sortable::new("country", factory::Column::Country, Kind::Text),
        Sortable::new("city", factory::Column::City, Kind::Text),
        Sortable::nullable("established_year", factory::Column::EstablishedYear, Kind::Int),
        Sortable::nullable("capacity_per_month", factory::Column::CapacityPerMonth, Kind::Int),
        Sortable::new("created_at", factory::Column::CreatedAt, Kind::Time),
        Sortable::new("updated_at", factory::Column::UpdatedAt, Kind::Time),
        Sortable::new("id", factory::Column::Id, Kind::Int),
    ],
    search: &[factory::Column::Name, factory::Column::City, factory::Column::Country],
    id: factory::Column::Id,
    created_at: factory::Column::CreatedAt,
    price: None,
};

/// One page of factories: one statement (plus a `COUNT` when asked).
///
/// # Errors
/// Database errors.
pub async fn list(state: &AppState, request: &ListRequest) -> Result<ListPage<factory::Model>, AppError> {
    let db = &state.db;
    let backend = db.get_database_backend();
    let mut select = factory::Entity::find();
    if let Some(country) = &request.filter.country {
        select = select.filter(factory::Column::Country.eq(country.as_str()));
    }
    if let Some(certification) = &request.filter.certification {
        select = select.filter(holds_certification(backend, certification));
    }
    let select = request.filtered(&SPEC, select, backend);
    let total = if request.count { Some(select.clone().count(db).await?) } else { None };
    let rows = request.apply(&SPEC, select).all(db).await?;
    Ok(request.page(&SPEC, rows, |row| row, |f| f.id, total))
}

/// Factories whose `certifications` (a JSON array of strings) hold `name`.
fn holds_certification(backend: DbBackend, name: &str) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(
            r#""factories"."certifications" @> $1::jsonb"#,
            [serde_json::json!([name]).to_string()],
        ),
        _ => Expr::cust_with_values(
            r#"EXISTS (SELECT 1 FROM json_each("factories"."certifications") WHERE json_each.value = ?)"#,
            [name.to_string()],
        ),
    }
}

/// # Errors
/// `NotFound` when there is no such factory.
pub async fn get(state: &AppState, id: i32) -> Result<factory::Model, AppError> {
    let db = &state.db;
    static BY_ID: LazyLock<CachedStatement> =
        LazyLock::new(|| CachedStatement::new(&factory::Entity::find_by_id(0)));
    BY_ID
        .one::<SelectModel<factory::Model>>(db, vec![id.into()])
        .await?
        .ok_or_else(|| AppError::not_found("factory", id))
}

/// Factories by id in one statement (GraphQL `Product.factory`).
///
/// # Errors
/// Database errors.
pub async fn by_ids(state: &AppState, ids: &[i32]) -> Result<HashMap<i32, factory::Model>, AppError> {
    let db = &state.db;
    let rows = factory::Entity::find().filter(factory::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|f| (f.id, f)).collect())
}

/// # Errors
/// `Unauthenticated`, `Forbidden` (not an admin), `Validation`.
pub async fn create(
    state: &AppState,
    viewer: Option<&Viewer>,
    input: FactoryInput,
) -> Result<factory::Model, AppError> {
    let db = &state.db;
    require_admin(viewer)?;
    let mut model = validate(input, WriteMode::Full, None)?;
    let now = time::now();
    model.created_at = Set(now);
    model.updated_at = Set(now);
    let _turn = state.writes.turn().await;
    Ok(model.insert(db).await?)
}

/// PUT (`WriteMode::Full`) or PATCH (`WriteMode::Partial`), checking
/// `expect` against the factory as it is in the write's transaction.
///
/// # Errors
/// `Unauthenticated`, `Forbidden`, `NotFound`, `PreconditionFailed`, `Validation`.
pub async fn update(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    input: FactoryInput,
    mode: WriteMode,
    expect: &Expect<'_, factory::Model>,
) -> Result<factory::Model, AppError> {
    require_admin(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id).await?;
    expect.check(&current)?;
    let mut model = validate(input, mode, Some(&current))?;
    model.id = Set(id);
    model.created_at = Set(current.created_at);
    model.updated_at = Set(time::now());
    let updated = model.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// # Errors
/// `Unauthenticated`, `Forbidden`, `NotFound`, `PreconditionFailed`,
/// `Conflict` while the factory still has products.
pub async fn delete(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    expect: &Expect<'_, factory::Model>,
) -> Result<(), AppError> {
    require_admin(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id).await?;
    expect.check(&current)?;
    let products = product::Entity::find().filter(product::Column::FactoryId.eq(id)).count(&txn).await?;
    if products > 0 {
        return Err(still_has_products(id, Some(products)));
    }
    factory::Entity::delete_by_id(id).exec(&txn).await.map_err(|e| match e.sql_err() {
        // A product was added between the count and the delete.
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => still_has_products(id, None),
        _ => e.into(),
    })?;
    txn.commit().await?;
    Ok(())
}

/// The factory, locked for the rest of `txn` (`FOR UPDATE` on PostgreSQL;
/// SQLite's write transaction already excludes other writers).
async fn locked(txn: &DatabaseTransaction, id: i32) -> Result<factory::Model, AppError> {
    factory::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("factory", id))
}

fn still_has_products(id: i32, count: Option<u64>) -> AppError {
    let count = count.map_or_else(|| "products".to_string(), |n| format!("{n} product(s)"));
    AppError::Conflict(format!("factory {id} still has {count}; delete or move them first"))
}

fn validate(
    input: FactoryInput,
    mode: WriteMode,
    current: Option<&factory::Model>,
) -> Result<factory::ActiveModel, AppError> {
    let mut errors = FieldErrors::default();
    let name = trimmed(errors.required("name", input.name, mode, current.map(|c| c.name.clone())));
    let address =
        trimmed(errors.required("address", input.address, mode, current.map(|c| c.address.clone())));
    let city = trimmed(errors.required("city", input.city, mode, current.map(|c| c.city.clone())));
    let country =
        trimmed(errors.required("country", input.country, mode, current.map(|c| c.country.clone())));
    let phone = trimmed(errors.optional(input.phone, mode, current.and_then(|c| c.phone.clone())));
    let email = trimmed(errors.optional(input.email, mode, current.and_then(|c| c.email.clone())));
    let established_year =
        errors.optional(input.established_year, mode, current.and_then(|c| c.established_year));
    let capacity_per_month =
        errors.optional(input.capacity_per_month, mode, current.and_then(|c| c.capacity_per_month));
    let certifications = match input.certifications {
        Patch::Null => {
            errors.push("certifications", "must not be null");
            None
        }
        Patch::Value(list) => Some(list.into_iter().map(|c| c.trim().to_string()).collect()),
        Patch::Absent if mode == WriteMode::Partial => current.map(|c| c.certifications.0.clone()),
        Patch::Absent => Some(Vec::new()),
    };
    let rules = FactoryRules {
        name,
        address,
        city,
        country,
        phone,
        email,
        established_year,
        capacity_per_month,
        certifications,
    };
    errors.extend_validation(rules.validate());
    errors.into_result()?;
    match rules {
        FactoryRules {
            name: Some(name),
            address: Some(address),
            city: Some(city),
            country: Some(country),
            certifications: Some(certifications),
            phone,
            email,
            established_year,
            capacity_per_month,
        } => Ok(factory::ActiveModel {
            name: Set(name),
            address: Set(address),
            city: Set(city),
            country: Set(country),
            phone: Set(phone),
            email: Set(email.map(|e| e.to_lowercase())),
            established_year: Set(established_year),
            capacity_per_month: Set(capacity_per_month),
            certifications: Set(Certifications(certifications)),
            ..Default::default()
        }),
        _ => Err(AppError::internal(anyhow::anyhow!("validated factory is incomplete"))),
    }
}
