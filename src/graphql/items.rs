//! `Item`, `items`, `item`, and the item mutations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::item;
use tokio::sync::OnceCell;

use super::connection::{PageArgs, Relay, common_filter, list_request, order_by, page_complexity, relay};
use super::context::{patch, patch_id, reference_id, row_id, row_or_null, state, viewer};
use super::loaders::{Loaders, StoreById, prime, wants};
use super::scalars::{DateTime, DateTimeInput};
use super::stores::Store;
use crate::domain::error::AppError;
use crate::domain::input::WriteMode;
use crate::domain::items::{self, ItemInput};
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::precondition::Expect;
use crate::domain::stores::ItemSummary;
use crate::domain::{Money, Patch};

pub struct Item {
    id: i32,
    store_id: i32,
    name: String,
    price_cents: i64,
    /// At hand when the whole row was read; read on first use otherwise
    /// (a store's items read as summaries, see `Item::summary`).
    timestamps: OnceCell<Timestamps>,
}

#[derive(Clone, Copy)]
struct Timestamps {
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl Item {
    pub fn new(row: item::Model) -> Self {
        let timestamps = Timestamps { created_at: row.created_at, updated_at: row.updated_at };
        Self {
            id: row.id,
            store_id: row.store_id,
            name: row.name,
            price_cents: row.price_cents,
            timestamps: OnceCell::new_with(Some(timestamps)),
        }
    }

    /// An item of the store `store_id`, read without its timestamps.
    pub fn summary(summary: ItemSummary, store_id: i32) -> Self {
        let ItemSummary { id, name, price_cents } = summary;
        Self { id, store_id, name, price_cents, timestamps: OnceCell::new() }
    }

    /// The store's resolver reads summaries only when its look-ahead finds
    /// no timestamp asked for, so the read here is a fallback that keeps
    /// the answer right (once per item), not a path that runs.
    async fn timestamps(&self, ctx: &Context<'_>) -> async_graphql::Result<Timestamps> {
        let read = || async {
            let row = items::get(state(ctx), self.id).await?;
            Ok::<_, AppError>(Timestamps { created_at: row.created_at, updated_at: row.updated_at })
        };
        Ok(*self.timestamps.get_or_try_init(read).await?)
    }
}

// `serial`, as `Product` (one relation field; the rest read the row).
#[Object(serial)]
impl Item {
    async fn id(&self) -> ID {
        self.id.into()
    }

    async fn name(&self) -> &str {
        &self.name
    }

    /// Exact to the cent; at most two decimals.
    async fn price(&self) -> f64 {
        Money::from_cents(self.price_cents).as_f64()
    }

    async fn store_id(&self) -> ID {
        self.store_id.into()
    }

    /// The item's store (batched across items).
    async fn store(&self, ctx: &Context<'_>) -> async_graphql::Result<Store> {
        let store_id = self.store_id;
        // Subscriptions have no per-request loaders: read directly there.
        match ctx.data_opt::<Loaders>().map(Loaders::get::<StoreById>) {
            Some(loader) => loader
                .load_one(store_id)
                .await?
                .map(Store::new)
                .ok_or_else(|| AppError::not_found("store", store_id).into()),
            None => Ok(Store::new(crate::domain::stores::get(state(ctx), store_id).await?)),
        }
    }

    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime> {
        Ok(DateTime(self.timestamps(ctx).await?.created_at))
    }

    async fn updated_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime> {
        Ok(DateTime(self.timestamps(ctx).await?.updated_at))
    }
}

#[derive(InputObject)]
pub struct CreateItemInput {
    name: String,
    price: f64,
    store_id: ID,
}

#[derive(InputObject)]
pub struct UpdateItemInput {
    name: MaybeUndefined<String>,
    price: MaybeUndefined<f64>,
    store_id: MaybeUndefined<ID>,
}

order_by!(ItemOrderField, ItemOrder, {
    Name => "name", Price => "price", CreatedAt => "created_at", UpdatedAt => "updated_at", Id => "id",
});

/// Narrows `items`: every given condition must hold.
#[derive(InputObject, Default)]
pub struct ItemFilter {
    /// Case-insensitive substring of the name (at most 100 characters).
    q: Option<String>,
    /// Inclusive.
    price_min: Option<f64>,
    /// Inclusive.
    price_max: Option<f64>,
    /// Exclusive.
    created_after: Option<DateTimeInput>,
    /// Exclusive.
    created_before: Option<DateTimeInput>,
}

#[derive(Default)]
pub struct ItemQuery;

#[Object]
impl ItemQuery {
    /// One page of items: by ascending id unless `orderBy` says
    /// otherwise, narrowed by `storeId` and `filter` (`first`/`last`
    /// 1–100, default 20).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn items(
        &self,
        ctx: &Context<'_>,
        store_id: Option<ID>,
        filter: Option<ItemFilter>,
        order_by: Option<ItemOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Relay<Item>> {
        let mut parser = Parser::new(Face::Graphql);
        let f = filter.unwrap_or_default();
        let filter = Filter {
            price_min: parser.price("price_min", f.price_min),
            price_max: parser.price("price_max", f.price_max),
            // A store id that cannot exist filters down to nothing.
            store_id: store_id.as_ref().map(reference_id),
            ..common_filter(&mut parser, f.q, f.created_after, f.created_before)
        };
        let order = order_by.as_ref().map(ItemOrder::pair);
        let page_args = PageArgs { first, after, last, before };
        let request = list_request(ctx, parser, &items::SPEC, order, filter, page_args)?;
        let page = items::list(state(ctx), &request).await?;
        if wants(ctx, "store") {
            prime::<StoreById>(ctx, page.rows.iter().map(|i| i.store_id)).await?;
        }
        Ok(relay(page, Item::new))
    }

    async fn item(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Item>> {
        Ok(row_or_null(&id, |id| items::get(state(ctx), id)).await?.map(Item::new))
    }
}

#[derive(Default)]
pub struct ItemMutation;

#[Object]
impl ItemMutation {
    /// By the owner of the store (or an admin); needs a fresh token (one
    /// issued by `login`).
    async fn create_item(&self, ctx: &Context<'_>, input: CreateItemInput) -> async_graphql::Result<Item> {
        let input = ItemInput {
            name: Patch::Value(input.name),
            price: Patch::Value(input.price),
            store_id: patch_id(MaybeUndefined::Value(input.store_id)),
        };
        Ok(Item::new(items::create(state(ctx), viewer(ctx), input).await?))
    }

    /// Changes the fields given; by the owner of the item's store (and of
    /// the store it moves to) or an admin; needs a fresh token.
    async fn update_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateItemInput,
    ) -> async_graphql::Result<Item> {
        let id = row_id(&id, "item")?;
        let input = ItemInput {
            name: patch(input.name),
            price: patch(input.price),
            store_id: patch_id(input.store_id),
        };
        Ok(Item::new(
            items::update(state(ctx), viewer(ctx), id, input, WriteMode::Partial, &Expect::Anything).await?,
        ))
    }

    /// By the owner of the item's store, or an admin.
    async fn delete_item(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = row_id(&id, "item")?;
        items::delete(state(ctx), viewer(ctx), id, &Expect::Anything).await?;
        Ok(true)
    }
}
