//! `Store`, `stores`, `store`, and the store mutations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::{item, store};

use super::connection::{
    PageArgs, Relay, common_filter, list_request, order_by, page_complexity, plain_list_bound,
    plain_list_complexity, relay,
};
use super::context::{patch, row_id, row_or_null, state, viewer};
use super::items::Item;
use super::loaders::{ItemsByStore, Loaders, StoreById, prime, wants};
use super::scalars::{DateTime, DateTimeInput};
use crate::domain::Patch;
use crate::domain::input::WriteMode;
use crate::domain::listing::{Face, Parser};
use crate::domain::precondition::Expect;
use crate::domain::stores::{self, ItemSummary, StoreInput};

pub struct Store {
    row: store::Model,
    /// The items, when the statement that found the store joined them.
    items: Option<JoinedItems>,
}

/// A store's items as the joined statement read them: whole rows, or only
/// the columns of [`ItemSummary`] when the query asks for nothing else.
enum JoinedItems {
    Full(Vec<item::Model>),
    Summaries(Vec<ItemSummary>),
}

impl Store {
    pub fn new(row: store::Model) -> Self {
        Self { row, items: None }
    }
}

// `serial`, as `Product` (one relation field; the rest read the row).
#[Object(serial)]
impl Store {
    async fn id(&self) -> ID {
        self.row.id.into()
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The user who created the store, who may change it and its items (as
    /// may admins); null for stores made before ownership existed or whose
    /// owner was deleted, which only admins may change.
    async fn owner_id(&self) -> Option<ID> {
        self.row.owner_id.map(ID::from)
    }

    /// The store's first items by id (`first` 1–100, default 100; batched).
    #[graphql(complexity = "plain_list_complexity(first, child_complexity)")]
    async fn items(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: Option<i32>,
    ) -> async_graphql::Result<Vec<Item>> {
        let first = plain_list_bound(first)?;
        match &self.items {
            Some(JoinedItems::Full(items)) => {
                return Ok(items.iter().take(first).cloned().map(Item::new).collect());
            }
            Some(JoinedItems::Summaries(items)) => {
                let items = items.iter().take(first).cloned();
                return Ok(items.map(|item| Item::summary(item, self.row.id)).collect());
            }
            None => {}
        }
        let items = match ctx.data_opt::<Loaders>().map(Loaders::get::<ItemsByStore>) {
            Some(loader) => loader.load_one(self.row.id).await?.unwrap_or_default(),
            None => crate::domain::items::for_store(state(ctx), self.row.id).await?,
        };
        Ok(items.into_iter().take(first).map(Item::new).collect())
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.row.updated_at)
    }
}

/// The `Item` fields an [`ItemSummary`] cannot answer (`storeId` and
/// `store` need only the store's id, which the store has). The look-ahead
/// follows fragments; a field it misses would still be answered right, by
/// a read of the item (`Item::timestamps`).
const SUMMARY_LESS_FIELDS: [&str; 2] = ["createdAt", "updatedAt"];

#[derive(InputObject)]
pub struct CreateStoreInput {
    name: String,
}

#[derive(InputObject)]
pub struct UpdateStoreInput {
    name: MaybeUndefined<String>,
}

order_by!(StoreOrderField, StoreOrder, {
    Name => "name", CreatedAt => "created_at", UpdatedAt => "updated_at", Id => "id",
});

/// Narrows `stores`: every given condition must hold.
#[derive(InputObject, Default)]
pub struct StoreFilter {
    /// Case-insensitive substring of the name (at most 100 characters).
    q: Option<String>,
    /// Exclusive.
    created_after: Option<DateTimeInput>,
    /// Exclusive.
    created_before: Option<DateTimeInput>,
}

#[derive(Default)]
pub struct StoreQuery;

#[Object]
impl StoreQuery {
    /// One page of stores: by ascending id unless `orderBy` says
    /// otherwise, narrowed by `filter` (`first`/`last` 1–100, default 20).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn stores(
        &self,
        ctx: &Context<'_>,
        filter: Option<StoreFilter>,
        order_by: Option<StoreOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Relay<Store>> {
        let mut parser = Parser::new(Face::Graphql);
        let f = filter.unwrap_or_default();
        let filter = common_filter(&mut parser, f.q, f.created_after, f.created_before);
        let order = order_by.as_ref().map(StoreOrder::pair);
        let page_args = PageArgs { first, after, last, before };
        let request = list_request(ctx, parser, &stores::SPEC, order, filter, page_args)?;
        let page = stores::list(state(ctx), &request).await?;
        if wants(ctx, "items") {
            prime::<ItemsByStore>(ctx, page.rows.iter().map(|s| s.id)).await?;
            // `items { store }` comes back to these very stores: no query.
            ctx.data_unchecked::<Loaders>()
                .get::<StoreById>()
                .feed_many(page.rows.iter().map(|s| (s.id, s.clone())))
                .await;
        }
        Ok(relay(page, Store::new))
    }

    async fn store(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Store>> {
        let state = state(ctx);
        // With its items, the store and the items come in one statement,
        // which reads only the items' columns the query can show.
        let items = ctx.look_ahead().field("items");
        row_or_null(&id, |id| async move {
            if !items.exists() {
                stores::get(state, id).await.map(Store::new)
            } else if SUMMARY_LESS_FIELDS.iter().any(|field| items.field(field).exists()) {
                stores::get_with_items(state, id)
                    .await
                    .map(|(row, items)| Store { row, items: Some(JoinedItems::Full(items)) })
            } else {
                stores::get_with_item_summaries(state, id)
                    .await
                    .map(|(row, items)| Store { row, items: Some(JoinedItems::Summaries(items)) })
            }
        })
        .await
    }
}

#[derive(Default)]
pub struct StoreMutation;

#[Object]
impl StoreMutation {
    /// Any signed-in user, who becomes the store's owner.
    async fn create_store(&self, ctx: &Context<'_>, input: CreateStoreInput) -> async_graphql::Result<Store> {
        let input = StoreInput { name: Patch::Value(input.name) };
        Ok(Store::new(stores::create(state(ctx), viewer(ctx), input).await?))
    }

    /// Changes the fields given; omitted fields keep their values. By the
    /// store's owner or an admin.
    async fn update_store(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateStoreInput,
    ) -> async_graphql::Result<Store> {
        let id = row_id(&id, "store")?;
        let input = StoreInput { name: patch(input.name) };
        Ok(Store::new(
            stores::update(state(ctx), viewer(ctx), id, input, WriteMode::Partial, &Expect::Anything).await?,
        ))
    }

    /// Deletes a store and its items (its owner or an admin).
    async fn delete_store(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = row_id(&id, "store")?;
        stores::delete(state(ctx), viewer(ctx), id, &Expect::Anything).await?;
        Ok(true)
    }
}
