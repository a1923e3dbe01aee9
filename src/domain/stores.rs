//! Stores: public reads; users create, and become the owner; the owner or
//! an admin updates and deletes.

use std::collections::HashMap;
use std::sync::LazyLock;

use entity::{item, store};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    DerivePartialModel, EntityTrait, FromQueryResult, PaginatorTrait, PartialModelTrait, QueryFilter,
    QueryOrder, QuerySelect, SelectModel,
};
use validator::Validate;

use crate::auth::Viewer;
use crate::domain::constraints::{self, Unique};
use crate::domain::error::AppError;
use crate::domain::input::{FieldErrors, Patch, WriteMode, trimmed};
use crate::domain::listing::{Kind, ListPage, ListRequest, Sortable, Spec};
use crate::domain::permissions::{require_owner, require_user};
use crate::domain::precondition::{Expect, begin_write};
use crate::domain::statements::CachedStatement;
use crate::domain::time;
use crate::state::AppState;

/// A store write (POST/PUT: every field; PATCH: the fields present).
#[derive(Debug, Clone, Default)]
pub struct StoreInput {
    /// Unique case-insensitively.
    pub name: Patch<String>,
}

#[derive(Validate)]
struct StoreRules {
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    name: Option<String>,
}

/// How stores are listed (docs/API.md §3.1).
pub static SPEC: Spec<store::Column> = Spec {
    sorts: &[
        Sortable::new("name", store::Column::Name, Kind::Text),
        Sortable::new("created_at", store::Column::CreatedAt, Kind::Time),
        Sortable::new("updated_at", store::Column::UpdatedAt, Kind::Time),
        Sortable::new("id", store::Column::Id, Kind::Int),
    ],
    search: &[store::Column::Name],
    id: store::Column::Id,
    created_at: store::Column::CreatedAt,
    price: None,
};

/// One page of stores: one statement (plus a `COUNT` when asked).
///
/// # Errors
/// Database errors.
pub async fn list(state: &AppState, request: &ListRequest) -> Result<ListPage<store::Model>, AppError> {
    let db = &state.db;
    let select = request.filtered(&SPEC, store::Entity::find(), db.get_database_backend());
    let total = if request.count { Some(select.clone().count(db).await?) } else { None };
    let rows = request.apply(&SPEC, select).all(db).await?;
    Ok(request.page(&SPEC, rows, |row| row, |s| s.id, total))
}

/// # Errors
/// `NotFound` when there is no such store.
pub async fn get(state: &AppState, id: i32) -> Result<store::Model, AppError> {
    let db = &state.db;
    static BY_ID: LazyLock<CachedStatement> =
        LazyLock::new(|| CachedStatement::new(&store::Entity::find_by_id(0)));
    BY_ID
        .one::<SelectModel<store::Model>>(db, vec![id.into()])
        .await?
        .ok_or_else(|| AppError::not_found("store", id))
}

/// Stores by id, for batch loading (GraphQL `Item.store`).
///
/// # Errors
/// Database errors.
pub async fn by_ids(state: &AppState, ids: &[i32]) -> Result<HashMap<i32, store::Model>, AppError> {
    let db = &state.db;
    let rows = store::Entity::find().filter(store::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|s| (s.id, s)).collect())
}

/// A store with all of its items, ordered by id (GraphQL `store { items }`).
///
/// # Errors
/// `NotFound` when there is no such store.
pub async fn get_with_items(state: &AppState, id: i32) -> Result<(store::Model, Vec<item::Model>), AppError> {
    let db = &state.db;
    static WITH_ITEMS: LazyLock<CachedStatement> = LazyLock::new(store_joined_with_items::<item::Model>);
    read_store_joined_with_items(&WITH_ITEMS, db, id).await
}

/// An item as a store's REST detail shows it: what
/// [`get_with_item_summaries`] reads of each item.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "item::Entity")]
pub struct ItemSummary {
    pub id: i32,
    pub name: String,
    pub price_cents: i64,
}

/// A store with the id, name and price of each of its items, ordered by id
/// (REST `GET /api/stores/{id}`).
///
/// Reads three of each item's six columns, not the whole rows that
/// [`get_with_items`] reads for GraphQL: per item, the two timestamps and
/// the store's id cost PostgreSQL and the decoder on every request and the
/// REST body shows none of them (BENCHMARKS.md).
///
/// # Errors
/// `NotFound` when there is no such store.
pub async fn get_with_item_summaries(
    state: &AppState,
    id: i32,
) -> Result<(store::Model, Vec<ItemSummary>), AppError> {
    read_store_joined_with_items(&WITH_SUMMARIES, &state.db, id).await
}

/// [`get_with_item_summaries`]'s statement.
static WITH_SUMMARIES: LazyLock<CachedStatement> = LazyLock::new(store_joined_with_items::<ItemSummary>);

/// One statement: the store by id joined with its items (none: one row
/// with no item), ordered by item id. The items' columns, those `T`
/// decodes, keep their own names and the store's take a prefix: SeaORM
/// formats `prefix + column` for every column it decodes under a prefix,
/// and the items are decoded 20 times a read where the store is decoded
/// once (BENCHMARKS.md).
fn store_joined_with_items<T: PartialModelTrait>() -> CachedStatement {
    let store_columns = store::Model::select_cols_nested(
        store::Entity::find_by_id(0).select_only(),
        Some(STORE_PREFIX),
        None,
    );
    CachedStatement::new(
        &T::select_cols(store_columns).left_join(item::Entity).order_by_asc(item::Column::Id),
    )
}

async fn read_store_joined_with_items<T: PartialModelTrait>(
    statement: &CachedStatement,
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<(store::Model, Vec<T>), AppError> {
    let rows = statement.rows(db, vec![id.into()]).await?;
    let first = rows.first().ok_or_else(|| AppError::not_found("store", id))?;
    // The store's columns repeat on every row: decode them once, not per item.
    let found = store::Model::from_query_result(first, STORE_PREFIX)?;
    // A store without items is one row whose item columns are NULL: `None`
    // here. A decoding error other than a NULL (a type mismatch, say) is
    // an error, not a missing item.
    let items = rows
        .iter()
        .map(|row| Option::<T>::from_query_result(row, ""))
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((found, items))
}

/// The prefix of the store's columns in [`store_joined_with_items`]'s
/// select; a dot, so that no prefixed name is also an item column's
/// (`store_id`).
const STORE_PREFIX: &str = "store.";

/// # Errors
/// `Unauthenticated`, `Validation`, `Conflict` (name taken).
pub async fn create(
    state: &AppState,
    viewer: Option<&Viewer>,
    input: StoreInput,
) -> Result<store::Model, AppError> {
    let db = &state.db;
    let viewer = require_user(viewer)?;
    let name = validated_name(input, WriteMode::Full, None)?;
    let now = time::now();
    let model = store::ActiveModel {
        name_key: Set(name_key(&name)),
        name: Set(name.clone()),
        owner_id: Set(Some(viewer.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let _turn = state.writes.turn().await;
    model.insert(db).await.map_err(|e| name_conflict(e, &name))
}

/// A store as its REST detail shows it, with its items: what a
/// conditional write of a store checks.
pub type StoreWithSummaries = (store::Model, Vec<ItemSummary>);

/// PUT (`WriteMode::Full`) or PATCH (`WriteMode::Partial`) by the store's
/// owner or an admin, checking `expect` against the store (with its items)
/// as it is in the write's transaction.
///
/// # Errors
/// `Unauthenticated`, `NotFound`, `PreconditionFailed`, `Forbidden`,
/// `Validation`, `Conflict` (name taken).
pub async fn update(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    input: StoreInput,
    mode: WriteMode,
    expect: &Expect<'_, StoreWithSummaries>,
) -> Result<store::Model, AppError> {
    let viewer = require_user(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id, expect).await?;
    require_owner(viewer, current.owner_id, &format!("store {id}"))?;
    let name = validated_name(input, mode, Some(current.name.clone()))?;
    let mut model: store::ActiveModel = current.into();
    model.name_key = Set(name_key(&name));
    model.name = Set(name.clone());
    model.updated_at = Set(time::now());
    let updated = model.update(&txn).await.map_err(|e| name_conflict(e, &name))?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes a store and, through the foreign key, its items; by the
/// store's owner or an admin.
///
/// # Errors
/// `Unauthenticated`, `NotFound`, `PreconditionFailed`, `Forbidden`.
pub async fn delete(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    expect: &Expect<'_, StoreWithSummaries>,
) -> Result<(), AppError> {
    let viewer = require_user(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id, expect).await?;
    require_owner(viewer, current.owner_id, &format!("store {id}"))?;
    let result = store::Entity::delete_by_id(id).exec(&txn).await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found("store", id));
    }
    txn.commit().await?;
    Ok(())
}

/// The store, locked for the rest of `txn` (`FOR UPDATE` on PostgreSQL,
/// which also holds back new items: their foreign key check shares the
/// store's row; SQLite's write transaction excludes other writers), once
/// `expect` has passed. Its items are read only when `expect` needs them.
async fn locked(
    txn: &DatabaseTransaction,
    id: i32,
    expect: &Expect<'_, StoreWithSummaries>,
) -> Result<store::Model, AppError> {
    let current = store::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("store", id))?;
    if !expect.is_conditional() {
        return Ok(current);
    }
    let with_items = read_store_joined_with_items(&WITH_SUMMARIES, txn, id).await?;
    expect.check(&with_items)?;
    Ok(with_items.0)
}

/// The owner of store `id` (`None`: it has none).
///
/// # Errors
/// `NotFound` when there is no such store.
pub(crate) async fn owner_of(db: &impl ConnectionTrait, id: i32) -> Result<Option<i32>, AppError> {
    find_owner(db, id).await?.ok_or_else(|| AppError::not_found("store", id))
}

/// The owner of store `id`, if there is such a store (`Some(None)`: it has
/// no owner).
///
/// # Errors
/// Database errors.
pub(crate) async fn find_owner(db: &impl ConnectionTrait, id: i32) -> Result<Option<Option<i32>>, AppError> {
    Ok(store::Entity::find_by_id(id)
        .select_only()
        .column(store::Column::OwnerId)
        .into_tuple::<Option<i32>>()
        .one(db)
        .await?)
}

fn validated_name(input: StoreInput, mode: WriteMode, current: Option<String>) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    let name = trimmed(errors.required("name", input.name, mode, current));
    errors.extend_validation(StoreRules { name: name.clone() }.validate());
    errors.into_result()?;
    name.ok_or_else(|| AppError::internal(anyhow::anyhow!("validated store without a name")))
}

/// Store names are unique case-insensitively.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn name_conflict(error: sea_orm::DbErr, name: &str) -> AppError {
    match constraints::violated(&error) {
        Some(Unique::StoreName) => AppError::Conflict(format!("a store named \"{name}\" already exists")),
        _ => error.into(),
    }
}
