//! `Factory`, `factories`, `factory`, and the factory mutations (admins).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::factory;

use super::connection::{
    PageArgs, Relay, common_filter, list_request, order_by, page_complexity, plain_list_bound,
    plain_list_complexity, relay,
};
use super::context::{patch, row_id, row_or_null, state, viewer};
use super::loaders::{Loaders, ProductsByFactory, prime, wants};
use super::products::Product;
use super::scalars::{DateTime, DateTimeInput};
use crate::domain::Patch;
use crate::domain::factories::{self, FactoryInput};
use crate::domain::input::WriteMode;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::precondition::Expect;

/// Shared: the products of one page that come from the same factory point
/// at one row instead of a copy each.
pub struct Factory(pub Arc<factory::Model>);

// `serial`, as `Product` (one relation field; the rest read the row).
#[Object(serial)]
impl Factory {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn address(&self) -> &str {
        &self.0.address
    }

    async fn city(&self) -> &str {
        &self.0.city
    }

    async fn country(&self) -> &str {
        &self.0.country
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    async fn established_year(&self) -> Option<i32> {
        self.0.established_year
    }

    async fn capacity_per_month(&self) -> Option<i32> {
        self.0.capacity_per_month
    }

    async fn certifications(&self) -> &[String] {
        &self.0.certifications.0
    }

    /// The factory's first products by id (`first` 1–100, default 100; batched).
    #[graphql(complexity = "plain_list_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: Option<i32>,
    ) -> async_graphql::Result<Vec<Product>> {
        let first = plain_list_bound(first)?;
        // Operations over the websocket may come without per-request loaders.
        let products = match ctx.data_opt::<Loaders>().map(Loaders::get::<ProductsByFactory>) {
            Some(loader) => loader.load_one(self.0.id).await?.unwrap_or_default(),
            None => crate::domain::products::for_factories(state(ctx), &[self.0.id])
                .await?
                .remove(&self.0.id)
                .unwrap_or_default(),
        };
        Ok(products.into_iter().take(first).map(Product::new).collect())
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

#[derive(InputObject)]
pub struct CreateFactoryInput {
    name: String,
    address: String,
    city: String,
    country: String,
    phone: Option<String>,
    email: Option<String>,
    established_year: Option<i32>,
    capacity_per_month: Option<i32>,
    certifications: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct UpdateFactoryInput {
    name: MaybeUndefined<String>,
    address: MaybeUndefined<String>,
    city: MaybeUndefined<String>,
    country: MaybeUndefined<String>,
    phone: MaybeUndefined<String>,
    email: MaybeUndefined<String>,
    established_year: MaybeUndefined<i32>,
    capacity_per_month: MaybeUndefined<i32>,
    certifications: MaybeUndefined<Vec<String>>,
}

order_by!(FactoryOrderField, FactoryOrder, {
    Name => "name", Country => "country", City => "city", EstablishedYear => "established_year",
    CapacityPerMonth => "capacity_per_month", CreatedAt => "created_at", UpdatedAt => "updated_at", Id => "id",
});

/// Narrows `factories`: every given condition must hold.
#[derive(InputObject, Default)]
pub struct FactoryFilter {
    /// Case-insensitive substring of the name, city or country (at most 100 characters).
    q: Option<String>,
    /// Exactly this country.
    country: Option<String>,
    /// Factories holding this certification.
    certification: Option<String>,
    /// Exclusive.
    created_after: Option<DateTimeInput>,
    /// Exclusive.
    created_before: Option<DateTimeInput>,
}

#[derive(Default)]
pub struct FactoryQuery;

#[Object]
impl FactoryQuery {
    /// One page of factories: by ascending id unless `orderBy` says
    /// otherwise, narrowed by `filter` (`first`/`last` 1–100, default 20).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn factories(
        &self,
        ctx: &Context<'_>,
        filter: Option<FactoryFilter>,
        order_by: Option<FactoryOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Relay<Factory>> {
        let mut parser = Parser::new(Face::Graphql);
        let f = filter.unwrap_or_default();
        let filter = Filter {
            country: f.country,
            certification: f.certification,
            ..common_filter(&mut parser, f.q, f.created_after, f.created_before)
        };
        let order = order_by.as_ref().map(FactoryOrder::pair);
        let page_args = PageArgs { first, after, last, before };
        let request = list_request(ctx, parser, &factories::SPEC, order, filter, page_args)?;
        let page = factories::list(state(ctx), &request).await?;
        if wants(ctx, "products") {
            prime::<ProductsByFactory>(ctx, page.rows.iter().map(|f| f.id)).await?;
        }
        Ok(relay(page, |f| Factory(Arc::new(f))))
    }

    async fn factory(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Factory>> {
        let found = row_or_null(&id, |id| factories::get(state(ctx), id)).await?;
        Ok(found.map(|f| Factory(Arc::new(f))))
    }
}

#[derive(Default)]
pub struct FactoryMutation;

#[Object]
impl FactoryMutation {
    /// Admins only.
    async fn create_factory(
        &self,
        ctx: &Context<'_>,
        input: CreateFactoryInput,
    ) -> async_graphql::Result<Factory> {
        let input = FactoryInput {
            name: Patch::Value(input.name),
            address: Patch::Value(input.address),
            city: Patch::Value(input.city),
            country: Patch::Value(input.country),
            phone: Patch::from_option(input.phone),
            email: Patch::from_option(input.email),
            established_year: Patch::from_option(input.established_year),
            capacity_per_month: Patch::from_option(input.capacity_per_month),
            certifications: Patch::from_option(input.certifications),
        };
        Ok(Factory(Arc::new(factories::create(state(ctx), viewer(ctx), input).await?)))
    }

    /// Changes the fields given (`null` clears an optional one); admins only.
    async fn update_factory(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateFactoryInput,
    ) -> async_graphql::Result<Factory> {
        let id = row_id(&id, "factory")?;
        let input = FactoryInput {
            name: patch(input.name),
            address: patch(input.address),
            city: patch(input.city),
            country: patch(input.country),
            phone: patch(input.phone),
            email: patch(input.email),
            established_year: patch(input.established_year),
            capacity_per_month: patch(input.capacity_per_month),
            certifications: patch(input.certifications),
        };
        Ok(Factory(Arc::new(
            factories::update(state(ctx), viewer(ctx), id, input, WriteMode::Partial, &Expect::Anything)
                .await?,
        )))
    }

    /// Admins only; refused with `CONFLICT` while the factory has products.
    async fn delete_factory(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = row_id(&id, "factory")?;
        factories::delete(state(ctx), viewer(ctx), id, &Expect::Anything).await?;
        Ok(true)
    }
}
