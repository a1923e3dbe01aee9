//! `Product`, `products`, `product`, and the product mutations.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::{factory, product};

use super::connection::{PageArgs, Relay, common_filter, list_request, order_by, page_complexity, relay};
use super::context::{patch, patch_id, reference_id, row_id, row_or_null, state, viewer};
use super::factories::Factory;
use super::loaders::{FactoryById, Loaders};
use super::scalars::{DateTime, DateTimeInput};
use crate::domain::error::AppError;
use crate::domain::input::WriteMode;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::precondition::Expect;
use crate::domain::products::{self, ProductInput, ProductRow};
use crate::domain::{Money, Patch};

pub struct Product {
    row: product::Model,
    /// The factory, when the statement that found the product joined it
    /// (every read does); otherwise `factory` goes through the loader.
    factory: Option<Arc<factory::Model>>,
}

impl Product {
    pub fn new(row: product::Model) -> Self {
        Self { row, factory: None }
    }

    fn joined(found: ProductRow) -> Self {
        Self { row: found.product, factory: Some(found.factory) }
    }
}

// `serial`: the fields resolve one after another instead of as a set of
// concurrent futures (a FuturesUnordered task per field). All but one are
// plain reads of the row; lists of these still resolve their elements
// concurrently, so loaders batch across elements as before.
#[Object(serial)]
impl Product {
    async fn id(&self) -> ID {
        self.row.id.into()
    }

    async fn sku(&self) -> &str {
        &self.row.sku
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }

    /// Exact to the cent; at most two decimals.
    async fn price(&self) -> f64 {
        Money::from_cents(self.row.price_cents).as_f64()
    }

    /// The user who created the product, who may change it (as may
    /// admins); null for products made before ownership existed or whose
    /// owner was deleted, which only admins may change.
    async fn owner_id(&self) -> Option<ID> {
        self.row.owner_id.map(ID::from)
    }

    /// The full factory, in the same request (batched across products).
    async fn factory(&self, ctx: &Context<'_>) -> async_graphql::Result<Factory> {
        if let Some(factory) = &self.factory {
            return Ok(Factory(Arc::clone(factory)));
        }
        // Operations over the websocket may come without per-request loaders.
        let found = match ctx.data_opt::<Loaders>().map(Loaders::get::<FactoryById>) {
            Some(loader) => loader.load_one(self.row.factory_id).await?,
            None => Some(crate::domain::factories::get(state(ctx), self.row.factory_id).await?),
        };
        found
            .map(|found| Factory(Arc::new(found)))
            .ok_or_else(|| AppError::not_found("factory", self.row.factory_id).into())
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.row.updated_at)
    }
}

#[derive(InputObject)]
pub struct CreateProductInput {
    sku: String,
    name: String,
    description: Option<String>,
    price: f64,
    factory_id: ID,
}

#[derive(InputObject)]
pub struct UpdateProductInput {
    sku: MaybeUndefined<String>,
    name: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    price: MaybeUndefined<f64>,
    factory_id: MaybeUndefined<ID>,
}

order_by!(ProductOrderField, ProductOrder, {
    Sku => "sku", Name => "name", Price => "price", CreatedAt => "created_at", UpdatedAt => "updated_at", Id => "id",
});

/// Narrows `products`: every given condition must hold.
#[derive(InputObject, Default)]
pub struct ProductFilter {
    /// Case-insensitive substring of the name, SKU or description (at most 100 characters).
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
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// One page of products: by ascending id unless `orderBy` says
    /// otherwise, narrowed by `factoryId` and `filter` (`first`/`last`
    /// 1–100, default 20).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        factory_id: Option<ID>,
        filter: Option<ProductFilter>,
        order_by: Option<ProductOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Relay<Product>> {
        let mut parser = Parser::new(Face::Graphql);
        let f = filter.unwrap_or_default();
        let filter = Filter {
            price_min: parser.price("price_min", f.price_min),
            price_max: parser.price("price_max", f.price_max),
            // A factory id that cannot exist filters down to nothing.
            factory_id: factory_id.as_ref().map(reference_id),
            ..common_filter(&mut parser, f.q, f.created_after, f.created_before)
        };
        let order = order_by.as_ref().map(ProductOrder::pair);
        let page_args = PageArgs { first, after, last, before };
        let request = list_request(ctx, parser, &products::SPEC, order, filter, page_args)?;
        // The page's join already read every factory (each once, shared by
        // its products): `factory` costs no query, no loader and no wait.
        let page = products::list(state(ctx), &request).await?;
        Ok(relay(page, Product::joined))
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Product>> {
        Ok(row_or_null(&id, |id| products::get(state(ctx), id)).await?.map(Product::joined))
    }
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Needs a fresh token (one issued by `login`); the caller becomes the
    /// product's owner.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> async_graphql::Result<Product> {
        let input = ProductInput {
            sku: Patch::Value(input.sku),
            name: Patch::Value(input.name),
            description: Patch::from_option(input.description),
            price: Patch::Value(input.price),
            factory_id: patch_id(MaybeUndefined::Value(input.factory_id)),
        };
        Ok(Product::joined(products::create(state(ctx), viewer(ctx), input).await?))
    }

    /// Changes the fields given (`null` clears `description`); by the
    /// product's owner or an admin; needs a fresh token.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> async_graphql::Result<Product> {
        let id = row_id(&id, "product")?;
        let input = ProductInput {
            sku: patch(input.sku),
            name: patch(input.name),
            description: patch(input.description),
            price: patch(input.price),
            factory_id: patch_id(input.factory_id),
        };
        Ok(Product::joined(
            products::update(state(ctx), viewer(ctx), id, input, WriteMode::Partial, &Expect::Anything)
                .await?,
        ))
    }

    /// By the product's owner, or an admin.
    async fn delete_product(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = row_id(&id, "product")?;
        products::delete(state(ctx), viewer(ctx), id, &Expect::Anything).await?;
        Ok(true)
    }
}
