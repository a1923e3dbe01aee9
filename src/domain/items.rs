//! Items: public reads; the owner of an item's store (of both stores, for a
//! move) or an admin creates, updates and deletes it; creating and
//! updating need a fresh token.

use std::collections::HashMap;
use std::sync::LazyLock;

use entity::item;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SelectModel,
};
use validator::Validate;

use crate::auth::Viewer;
use crate::domain::error::AppError;
use crate::domain::input::{FieldErrors, Patch, WriteMode, trimmed};
use crate::domain::listing::{Kind, ListPage, ListRequest, Sortable, Spec};
use crate::domain::money::{Money, validate_price};
use crate::domain::permissions::{require_fresh, require_owner, require_user};
use crate::domain::precondition::{Expect, begin_write};
use crate::domain::statements::CachedStatement;
use crate::domain::stores;
use crate::domain::time;
use crate::events::{Change, ChangeKind};
use crate::state::AppState;

/// An item write (POST/PUT: every field; PATCH: the fields present).
#[derive(Debug, Clone, Default)]
pub struct ItemInput {
    pub name: Patch<String>,
    pub price: Patch<f64>,
    /// An existing store (an unknown id is a 422 on this field).
    pub store_id: Patch<i32>,
}

#[derive(Validate)]
struct ItemRules {
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    name: Option<String>,
    #[validate(custom(function = "validate_price"))]
    price: Option<f64>,
}

struct ValidItem {
    name: String,
    price: Money,
    store_id: i32,
    /// The owner of the store `store_id` names.
    store_owner: Option<i32>,
}

/// How items are listed (docs/API.md §3.1).
pub static SPEC: Spec<item::Column> = Spec {
    sorts: &[
        Sortable::new("name", item::Column::Name, Kind::Text),
        Sortable::new("price", item::Column::PriceCents, Kind::Int),
        Sortable::new("created_at", item::Column::CreatedAt, Kind::Time),
        Sortable::new("updated_at", item::Column::UpdatedAt, Kind::Time),
        Sortable::new("id", item::Column::Id, Kind::Int),
    ],
    search: &[item::Column::Name],
    id: item::Column::Id,
    created_at: item::Column::CreatedAt,
    price: Some(item::Column::PriceCents),
};

/// One page of items (optionally of one store): one statement (plus a
/// `COUNT` when asked).
///
/// # Errors
/// Database errors.
pub async fn list(state: &AppState, request: &ListRequest) -> Result<ListPage<item::Model>, AppError> {
    let db = &state.db;
    let mut select = item::Entity::find();
    if let Some(store_id) = request.filter.store_id {
        select = select.filter(item::Column::StoreId.eq(store_id));
    }
    let select = request.filtered(&SPEC, select, db.get_database_backend());
    let total = if request.count { Some(select.clone().count(db).await?) } else { None };
    let rows = request.apply(&SPEC, select).all(db).await?;
    Ok(request.page(&SPEC, rows, |row| row, |i| i.id, total))
}

/// # Errors
/// `NotFound` when there is no such item.
pub async fn get(state: &AppState, id: i32) -> Result<item::Model, AppError> {
    let db = &state.db;
    item::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("item", id))
}

/// All items of one store, by id.
///
/// # Errors
/// Database errors.
pub async fn for_store(state: &AppState, store_id: i32) -> Result<Vec<item::Model>, AppError> {
    let db = &state.db;
    static OF_STORE: LazyLock<CachedStatement> = LazyLock::new(|| {
        CachedStatement::new(
            &item::Entity::find().filter(item::Column::StoreId.eq(0)).order_by_asc(item::Column::Id),
        )
    });
    Ok(OF_STORE.all::<SelectModel<item::Model>>(db, vec![store_id.into()]).await?)
}

/// All items of many stores in one statement (GraphQL `Store.items`).
///
/// # Errors
/// Database errors.
pub async fn for_stores(
    state: &AppState,
    store_ids: &[i32],
) -> Result<HashMap<i32, Vec<item::Model>>, AppError> {
    let db = &state.db;
    let rows = item::Entity::find()
        .filter(item::Column::StoreId.is_in(store_ids.iter().copied()))
        .order_by_asc(item::Column::Id)
        .all(db)
        .await?;
    let mut grouped: HashMap<i32, Vec<item::Model>> = store_ids.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        grouped.entry(row.store_id).or_default().push(row);
    }
    Ok(grouped)
}

/// In a store of the caller's (any store, for an admin).
///
/// # Errors
/// `Unauthenticated`, `FreshTokenRequired`, `Validation` (including an
/// unknown `store_id`), `Forbidden` (another user's store).
pub async fn create(
    state: &AppState,
    viewer: Option<&Viewer>,
    input: ItemInput,
) -> Result<item::Model, AppError> {
    let db = &state.db;
    let viewer = require_fresh(viewer)?;
    let valid = validate(db, input, WriteMode::Full, None).await?;
    require_owner(viewer, valid.store_owner, &store_named(valid.store_id))?;
    let now = time::now();
    let model = item::ActiveModel {
        name: Set(valid.name),
        price_cents: Set(valid.price.cents()),
        store_id: Set(valid.store_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let created = {
        let _turn = state.writes.turn().await;
        model.insert(db).await?
    };
    state.events.publish(Change::Item { kind: ChangeKind::Created, item: created.clone() });
    Ok(created)
}

/// PUT (`WriteMode::Full`) or PATCH (`WriteMode::Partial`), by the owner
/// of the item's store (and, for a move, of the store it moves to) or an
/// admin, checking `expect` against the item as it is in the write's
/// transaction.
///
/// # Errors
/// `Unauthenticated`, `FreshTokenRequired`, `NotFound`, `PreconditionFailed`,
/// `Forbidden`, `Validation`.
pub async fn update(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    input: ItemInput,
    mode: WriteMode,
    expect: &Expect<'_, item::Model>,
) -> Result<item::Model, AppError> {
    let viewer = require_fresh(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, id).await?;
    expect.check(&current)?;
    require_owner(viewer, stores::owner_of(&txn, current.store_id).await?, &store_named(current.store_id))?;
    let valid = validate(&txn, input, mode, Some(&current)).await?;
    if valid.store_id != current.store_id {
        require_owner(viewer, valid.store_owner, &store_named(valid.store_id))?;
    }
    let mut model: item::ActiveModel = current.into();
    model.name = Set(valid.name);
    model.price_cents = Set(valid.price.cents());
    model.store_id = Set(valid.store_id);
    model.updated_at = Set(time::now());
    let updated = model.update(&txn).await?;
    txn.commit().await?;
    state.events.publish(Change::Item { kind: ChangeKind::Updated, item: updated.clone() });
    Ok(updated)
}

/// By the owner of the item's store or an admin (no fresh token needed).
///
/// # Errors
/// `Unauthenticated`, `NotFound`, `PreconditionFailed`, `Forbidden`.
pub async fn delete(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    expect: &Expect<'_, item::Model>,
) -> Result<(), AppError> {
    let viewer = require_user(viewer)?;
    let (_turn, txn) = begin_write(state).await?;
    // Read first: subscribers are told what was deleted.
    let existing = locked(&txn, id).await?;
    expect.check(&existing)?;
    let owner = stores::owner_of(&txn, existing.store_id).await?;
    require_owner(viewer, owner, &store_named(existing.store_id))?;
    let result = item::Entity::delete_by_id(id).exec(&txn).await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found("item", id));
    }
    txn.commit().await?;
    state.events.publish(Change::Item { kind: ChangeKind::Deleted, item: existing });
    Ok(())
}

/// The item, locked for the rest of `txn` (`FOR UPDATE` on PostgreSQL;
/// SQLite's write transaction already excludes other writers).
async fn locked(txn: &DatabaseTransaction, id: i32) -> Result<item::Model, AppError> {
    item::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("item", id))
}

async fn validate(
    db: &impl ConnectionTrait,
    input: ItemInput,
    mode: WriteMode,
    current: Option<&item::Model>,
) -> Result<ValidItem, AppError> {
    let mut errors = FieldErrors::default();
    let name = trimmed(errors.required("name", input.name, mode, current.map(|c| c.name.clone())));
    let price = errors.required(
        "price",
        input.price,
        mode,
        current.map(|c| Money::from_cents(c.price_cents).as_f64()),
    );
    let store_id = errors.required("store_id", input.store_id, mode, current.map(|c| c.store_id));
    errors.extend_validation(ItemRules { name: name.clone(), price }.validate());
    let store_owner = match store_id {
        Some(store_id) => stores::find_owner(db, store_id).await?,
        None => None,
    };
    if store_id.is_some() && store_owner.is_none() {
        errors.push("store_id", "no store with this id");
    }
    errors.into_result()?;
    match (name, price.map(Money::from_decimal), store_id, store_owner) {
        (Some(name), Some(Ok(price)), Some(store_id), Some(store_owner)) => {
            Ok(ValidItem { name, price, store_id, store_owner })
        }
        _ => Err(AppError::internal(anyhow::anyhow!("validated item is incomplete"))),
    }
}

fn store_named(id: i32) -> String {
    format!("store {id}")
}
