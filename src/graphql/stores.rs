//! `Store`, `stores`, `store`, and the store mutations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::store;

use super::connection::{Relay, page_complexity, page_request, relay};
use super::context::{parse_id, patch, state, viewer};
use super::items::Item;
use super::loaders::{Cached, ItemsByStore, StoreById, prime, wants};
use super::scalars::DateTime;
use crate::domain::Patch;
use crate::domain::input::WriteMode;
use crate::domain::stores::{self, StoreInput};
use crate::error::AppError;

pub struct Store(pub store::Model);

#[Object]
impl Store {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Every item of the store, by id (batched across stores).
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Item>> {
        let items = match ctx.data_opt::<Cached<ItemsByStore>>() {
            Some(loader) => loader.load_one(self.0.id).await?.unwrap_or_default(),
            None => crate::domain::items::for_store(&state(ctx).db, self.0.id).await?,
        };
        Ok(items.into_iter().map(Item).collect())
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

#[derive(InputObject)]
pub struct CreateStoreInput {
    name: String,
}

#[derive(InputObject)]
pub struct UpdateStoreInput {
    name: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct StoreQuery;

#[Object]
impl StoreQuery {
    /// One page, by ascending id (`first` 1–100, default 20).
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn stores(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Relay<Store>> {
        let request = page_request(first, after)?;
        let page = stores::list(&state(ctx).db, request).await?;
        if wants(ctx, "items") {
            prime::<ItemsByStore>(ctx, page.rows.iter().map(|s| s.id)).await?;
            // `items { store }` comes back to these very stores: no query.
            ctx.data_unchecked::<Cached<StoreById>>()
                .feed_many(page.rows.iter().map(|s| (s.id, s.clone())))
                .await;
        }
        Ok(relay(request, page, |s| s.id, Store))
    }

    async fn store(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Store>> {
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        match stores::get(&state(ctx).db, id).await {
            Ok(found) => Ok(Some(Store(found))),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
}

#[derive(Default)]
pub struct StoreMutation;

#[Object]
impl StoreMutation {
    async fn create_store(&self, ctx: &Context<'_>, input: CreateStoreInput) -> async_graphql::Result<Store> {
        let input = StoreInput { name: Patch::Value(input.name) };
        Ok(Store(stores::create(&state(ctx).db, viewer(ctx), input).await?))
    }

    /// Changes the fields given; omitted fields keep their values.
    async fn update_store(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateStoreInput,
    ) -> async_graphql::Result<Store> {
        let id = parse_id(&id).ok_or_else(|| AppError::not_found("store", id.as_str()))?;
        let input = StoreInput { name: patch(input.name) };
        Ok(Store(stores::update(&state(ctx).db, viewer(ctx), id, input, WriteMode::Partial).await?))
    }

    /// Deletes a store and its items (admins only).
    async fn delete_store(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = parse_id(&id).ok_or_else(|| AppError::not_found("store", id.as_str()))?;
        stores::delete(&state(ctx).db, viewer(ctx), id).await?;
        Ok(true)
    }
}
