//! Products: public reads; users with a fresh token create, and become the
//! owner; the owner or an admin updates (fresh token) and deletes. Each
//! product belongs to a factory.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, LazyLock};

use entity::{factory, product};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, JoinType, PaginatorTrait, PartialModelTrait, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, QueryTrait, RelationTrait, Select,
};
use validator::Validate;

use crate::auth::Viewer;
use crate::domain::constraints::{self, Unique};
use crate::domain::error::AppError;
use crate::domain::input::{FieldErrors, Patch, WriteMode, trimmed};
use crate::domain::listing::{Kind, ListPage, ListRequest, Sortable, Spec};
use crate::domain::money::{Money, validate_price};
use crate::domain::permissions::{require_fresh, require_owner, require_user};
use crate::domain::precondition::{Expect, begin_write};
use crate::domain::statements::CachedStatement;
use crate::domain::time;
use crate::state::AppState;

/// A product write (POST/PUT: every required field; PATCH: the fields present).
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    /// Unique.
    pub sku: Patch<String>,
    pub name: Patch<String>,
    pub description: Patch<String>,
    pub price: Patch<f64>,
    /// An existing factory (an unknown id is a 422 on this field).
    pub factory_id: Patch<i32>,
}

#[derive(Validate)]
struct ProductRules {
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    sku: Option<String>,
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    name: Option<String>,
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    description: Option<String>,
    #[validate(custom(function = "validate_price"))]
    price: Option<f64>,
}

/// A product with its factory, read in one statement (a join). REST shows
/// only the factory's id and name; GraphQL hands the whole row to its
/// loader, so `product { factory { … } }` costs no second query. The
/// products of one page that share a factory share its row.
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub product: product::Model,
    pub factory: Arc<factory::Model>,
}

/// `select` joined with each product's factory: the products' columns keep
/// their own names and the factory's take [`FACTORY_PREFIX`], which
/// [`decode_factory`] reads by names written once; a page decodes 100
/// products and only its few distinct factories ([`list`]).
fn with_factory_columns(select: Select<product::Entity>) -> Select<product::Entity> {
    factory::Model::select_cols_nested(select.left_join(factory::Entity), Some(FACTORY_PREFIX), None)
}

/// The prefix of the factory's columns in [`with_factory_columns`]; a dot,
/// so that no prefixed name is also a product column's (`factory_id`).
macro_rules! factory_prefix {
    () => {
        "factory."
    };
}
const FACTORY_PREFIX: &str = factory_prefix!();

/// The factory's columns of a row of [`with_factory_columns`], read by
/// their prefixed names written out at compile time: SeaORM's decoder
/// formats `prefix + column` into a new `String` for each column of each
/// row (BENCHMARKS.md, "Decisions that shaped performance"). The struct
/// literal names every field, so a column added
/// to the entity fails to compile here until it is read.
fn decode_factory(row: &QueryResult) -> Result<Arc<factory::Model>, AppError> {
    macro_rules! column {
        ($name:literal) => {
            row.try_get("", concat!(factory_prefix!(), $name))?
        };
    }
    Ok(Arc::new(factory::Model {
        id: column!("id"),
        name: column!("name"),
        address: column!("address"),
        city: column!("city"),
        country: column!("country"),
        phone: column!("phone"),
        email: column!("email"),
        established_year: column!("established_year"),
        capacity_per_month: column!("capacity_per_month"),
        certifications: column!("certifications"),
        created_at: column!("created_at"),
        updated_at: column!("updated_at"),
    }))
}

/// How products are listed (docs/API.md §3.1).
pub static SPEC: Spec<product::Column> = Spec {
    sorts: &[
        Sortable::new("sku", product::Column::Sku, Kind::Text),
        Sortable::new("name", product::Column::Name, Kind::Text),
        Sortable::new("price", product::Column::PriceCents, Kind::Int),
        Sortable::new("created_at", product::Column::CreatedAt, Kind::Time),
        Sortable::new("updated_at", product::Column::UpdatedAt, Kind::Time),
        Sortable::new("id", product::Column::Id, Kind::Int),
    ],
    search: &[product::Column::Name, product::Column::Sku, product::Column::Description],
    id: product::Column::Id,
    created_at: product::Column::CreatedAt,
    price: Some(product::Column::PriceCents),
};

/// One page of products, each with its factory: one statement whatever
/// the page size, sort and filters (plus a `COUNT` when asked).
///
/// # Errors
/// Database errors.
pub async fn list(state: &AppState, request: &ListRequest) -> Result<ListPage<ProductRow>, AppError> {
    let db = &state.db;
    let mut select = product::Entity::find();
    if let Some(factory_id) = request.filter.factory_id {
        select = select.filter(product::Column::FactoryId.eq(factory_id));
    }
    let select = request.filtered(&SPEC, select, db.get_database_backend());
    let total = if request.count { Some(select.clone().count(db).await?) } else { None };
    let select = with_factory_columns(request.apply(&SPEC, select));
    let rows = db.query_all_raw(select.build(db.get_database_backend())).await?;
    // A page's products share a few factories: each is decoded once.
    let mut factories: HashMap<i32, Arc<factory::Model>> = HashMap::new();
    let rows = rows
        .iter()
        .map(|row| {
            let product = product::Model::from_query_result(row, "")?;
            let factory = match factories.entry(product.factory_id) {
                Entry::Occupied(known) => Arc::clone(known.get()),
                Entry::Vacant(slot) => Arc::clone(slot.insert(decode_factory(row)?)),
            };
            Ok(ProductRow { product, factory })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(request.page(&SPEC, rows, |row| &row.product, |p| p.id, total))
}

/// A product with its factory's name only: what REST shows of one
/// product (the factory's id is the product's `factory_id`).
#[derive(Debug, Clone)]
pub struct ProductSummaryRow {
    pub product: product::Model,
    pub factory_name: String,
}

/// One product with its factory's name (REST `GET /api/products/{id}`).
///
/// Reads the product's columns and one of the factory's, not the whole
/// factory row that [`get`] reads for GraphQL: the profile in
/// BENCHMARKS.md showed the eleven unused columns (a JSON one among them)
/// costing PostgreSQL and the decoder on every request.
///
/// # Errors
/// `NotFound` when there is no such product.
pub async fn get_summary(state: &AppState, id: i32) -> Result<ProductSummaryRow, AppError> {
    summary(&state.db, id).await
}

async fn summary(db: &impl ConnectionTrait, id: i32) -> Result<ProductSummaryRow, AppError> {
    static BY_ID: LazyLock<CachedStatement> = LazyLock::new(|| {
        CachedStatement::new(
            &product::Entity::find_by_id(0)
                .join(JoinType::InnerJoin, product::Relation::Factory.def())
                .column_as(factory::Column::Name, FACTORY_NAME),
        )
    });
    let row = BY_ID.row(db, vec![id.into()]).await?.ok_or_else(|| AppError::not_found("product", id))?;
    Ok(ProductSummaryRow {
        product: product::Model::from_query_result(&row, "")?,
        factory_name: row.try_get("", FACTORY_NAME)?,
    })
}

/// The alias of the factory's name in [`get_summary`]'s select.
const FACTORY_NAME: &str = "factory_name";

/// # Errors
/// `NotFound` when there is no such product.
pub async fn get(state: &AppState, id: i32) -> Result<ProductRow, AppError> {
    let db = &state.db;
    static BY_ID: LazyLock<CachedStatement> =
        LazyLock::new(|| CachedStatement::new(&with_factory_columns(product::Entity::find_by_id(0))));
    let row = BY_ID.row(db, vec![id.into()]).await?.ok_or_else(|| AppError::not_found("product", id))?;
    Ok(ProductRow { product: product::Model::from_query_result(&row, "")?, factory: decode_factory(&row)? })
}

/// All products of many factories in one statement (GraphQL `Factory.products`).
///
/// # Errors
/// Database errors.
pub async fn for_factories(
    state: &AppState,
    factory_ids: &[i32],
) -> Result<HashMap<i32, Vec<product::Model>>, AppError> {
    let db = &state.db;
    let rows = product::Entity::find()
        .filter(product::Column::FactoryId.is_in(factory_ids.iter().copied()))
        .order_by_asc(product::Column::Id)
        .all(db)
        .await?;
    let mut grouped: HashMap<i32, Vec<product::Model>> =
        factory_ids.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        grouped.entry(row.factory_id).or_default().push(row);
    }
    Ok(grouped)
}

/// # Errors
/// `Unauthenticated`, `FreshTokenRequired`, `Validation` (including an
/// unknown `factory_id`), `Conflict` (SKU taken).
pub async fn create(
    state: &AppState,
    viewer: Option<&Viewer>,
    input: ProductInput,
) -> Result<ProductRow, AppError> {
    let db = &state.db;
    let viewer = require_fresh(viewer)?;
    let mut model = validate(db, input, WriteMode::Full, None).await?;
    let now = time::now();
    model.owner_id = Set(Some(viewer.user_id));
    model.created_at = Set(now);
    model.updated_at = Set(now);
    let sku = model.sku.clone().unwrap();
    let created = {
        let _turn = state.writes.turn().await;
        model.insert(db).await.map_err(|e| sku_conflict(e, &sku))?
    };
    get(state, created.id).await
}

/// PUT (`WriteMode::Full`) or PATCH (`WriteMode::Partial`), by the
/// product's owner or an admin, checking `expect` against the product
/// (with its factory's name) as it is in the write's transaction.
///
/// # Errors
/// `Unauthenticated`, `FreshTokenRequired`, `NotFound`, `Forbidden`,
/// `PreconditionFailed`, `Validation`, `Conflict`.
pub async fn update(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    input: ProductInput,
    mode: WriteMode,
    expect: &Expect<'_, ProductSummaryRow>,
) -> Result<ProductRow, AppError> {
    let viewer = require_fresh(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id, expect).await?;
    require_owner(viewer, current.owner_id, &format!("product {id}"))?;
    let mut model = validate(&txn, input, mode, Some(&current)).await?;
    model.id = Set(id);
    model.created_at = Set(current.created_at);
    model.updated_at = Set(time::now());
    let sku = model.sku.clone().unwrap();
    model.update(&txn).await.map_err(|e| sku_conflict(e, &sku))?;
    txn.commit().await?;
    get(state, id).await
}

/// By the product's owner or an admin (no fresh token needed).
///
/// # Errors
/// `Unauthenticated`, `NotFound`, `Forbidden`, `PreconditionFailed`.
pub async fn delete(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    expect: &Expect<'_, ProductSummaryRow>,
) -> Result<(), AppError> {
    let viewer = require_user(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id, expect).await?;
    require_owner(viewer, current.owner_id, &format!("product {id}"))?;
    let result = product::Entity::delete_by_id(id).exec(&txn).await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found("product", id));
    }
    txn.commit().await?;
    Ok(())
}

/// The product, locked for the rest of `txn` (`FOR UPDATE` on PostgreSQL;
/// SQLite's write transaction already excludes other writers), once
/// `expect` has passed. Its factory's name is read only when `expect`
/// needs it.
async fn locked(
    txn: &DatabaseTransaction,
    id: i32,
    expect: &Expect<'_, ProductSummaryRow>,
) -> Result<product::Model, AppError> {
    let current = product::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("product", id))?;
    if !expect.is_conditional() {
        return Ok(current);
    }
    let row = summary(txn, id).await?;
    expect.check(&row)?;
    Ok(row.product)
}

async fn validate(
    db: &impl ConnectionTrait,
    input: ProductInput,
    mode: WriteMode,
    current: Option<&product::Model>,
) -> Result<product::ActiveModel, AppError> {
    let mut errors = FieldErrors::default();
    let sku = trimmed(errors.required("sku", input.sku, mode, current.map(|c| c.sku.clone())));
    let name = trimmed(errors.required("name", input.name, mode, current.map(|c| c.name.clone())));
    let description = errors.optional(input.description, mode, current.and_then(|c| c.description.clone()));
    let price = errors.required(
        "price",
        input.price,
        mode,
        current.map(|c| Money::from_cents(c.price_cents).as_f64()),
    );
    let factory_id = errors.required("factory_id", input.factory_id, mode, current.map(|c| c.factory_id));
    let rules = ProductRules { sku, name, description, price };
    errors.extend_validation(rules.validate());
    if let Some(factory_id) = factory_id
        && !factory_exists(db, factory_id).await?
    {
        errors.push("factory_id", "no factory with this id");
    }
    errors.into_result()?;
    match (rules, factory_id) {
        (
            ProductRules { sku: Some(sku), name: Some(name), description, price: Some(price) },
            Some(factory_id),
        ) => {
            let price = Money::from_decimal(price).map_err(|m| AppError::field("price", m))?;
            Ok(product::ActiveModel {
                sku: Set(sku),
                name: Set(name),
                description: Set(description),
                price_cents: Set(price.cents()),
                factory_id: Set(factory_id),
                ..Default::default()
            })
        }
        _ => Err(AppError::internal(anyhow::anyhow!("validated product is incomplete"))),
    }
}

async fn factory_exists(db: &impl ConnectionTrait, id: i32) -> Result<bool, AppError> {
    let found = factory::Entity::find_by_id(id)
        .select_only()
        .column(factory::Column::Id)
        .into_tuple::<i32>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

fn sku_conflict(error: sea_orm::DbErr, sku: &str) -> AppError {
    match constraints::violated(&error) {
        Some(Unique::ProductSku) => {
            AppError::Conflict(format!("a product with SKU \"{sku}\" already exists"))
        }
        _ => error.into(),
    }
}
