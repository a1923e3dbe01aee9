//! DataLoaders: a page of N parents loads its children in one statement,
//! not N. Built per request, so nothing is cached across callers.
//!
//! A DataLoader batches the keys that arrive within its 1 ms window. Large
//! lists resolve in several polls (futures' `FuturesUnordered` yields every
//! 32 items), so under load a page could still be split into a few batches.
//! Connection resolvers therefore *prime* the loader for the relation the
//! query asks for ([`wants`]): all keys of the page go in one `load_many`,
//! and each node's `load_one` is then a cache hit. That makes the statement
//! count of a page constant by construction, not by timing.
//!
//! Each loader is built on first use ([`Loaders::get`]): most operations,
//! single reads answered by one joined statement, use none of them.

use std::collections::HashMap;
use std::sync::OnceLock;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{factory, item, product, store};

use crate::domain;
use crate::state::AppState;

pub struct StoreById(pub AppState);

impl Loader<i32> for StoreById {
    type Value = store::Model;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, store::Model>, Self::Error> {
        Ok(domain::stores::by_ids(&self.0, ids).await?)
    }
}

pub struct ItemsByStore(pub AppState);

impl Loader<i32> for ItemsByStore {
    type Value = Vec<item::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, store_ids: &[i32]) -> Result<HashMap<i32, Vec<item::Model>>, Self::Error> {
        Ok(domain::items::for_stores(&self.0, store_ids).await?)
    }
}

/// A per-request loader that remembers what it loaded.
pub type Cached<L> = DataLoader<L, HashMapCache>;

fn cached<L>(loader: L) -> Cached<L> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

/// One GraphQL request's loaders, each built when first asked for.
pub struct Loaders {
    state: AppState,
    store_by_id: OnceLock<Cached<StoreById>>,
    items_by_store: OnceLock<Cached<ItemsByStore>>,
    factory_by_id: OnceLock<Cached<FactoryById>>,
    products_by_factory: OnceLock<Cached<ProductsByFactory>>,
}

impl Loaders {
    /// The request's loader of kind `L`.
    pub fn get<L: RequestLoader>(&self) -> &Cached<L> {
        L::slot(self).get_or_init(|| cached(L::new(self.state.clone())))
    }
}

/// A loader kind a request may ask [`Loaders`] for.
pub trait RequestLoader: Loader<i32> + Sized {
    fn new(state: AppState) -> Self;
    fn slot(loaders: &Loaders) -> &OnceLock<Cached<Self>>;
}

macro_rules! request_loader {
    ($loader:ident, $slot:ident) => {
        impl RequestLoader for $loader {
            fn new(state: AppState) -> Self {
                Self(state)
            }

            fn slot(loaders: &Loaders) -> &OnceLock<Cached<Self>> {
                &loaders.$slot
            }
        }
    };
}

request_loader!(StoreById, store_by_id);
request_loader!(ItemsByStore, items_by_store);
request_loader!(FactoryById, factory_by_id);
request_loader!(ProductsByFactory, products_by_factory);

/// Gives one GraphQL request a fresh, empty set of loaders.
pub fn install(request: async_graphql::Request, state: &AppState) -> async_graphql::Request {
    request.data(Loaders {
        state: state.clone(),
        store_by_id: OnceLock::new(),
        items_by_store: OnceLock::new(),
        factory_by_id: OnceLock::new(),
        products_by_factory: OnceLock::new(),
    })
}

/// Whether a connection query selects `field` on its nodes (through
/// `nodes { field }` or `edges { node { field } }`).
pub fn wants(ctx: &Context<'_>, field: &str) -> bool {
    let look = ctx.look_ahead();
    look.field("nodes").field(field).exists() || look.field("edges").field("node").field(field).exists()
}

/// Loads every key of a page in one batch, so the nodes' own loads hit
/// the cache.
///
/// # Errors
/// The loader's error.
pub async fn prime<L: RequestLoader<Error = async_graphql::Error>>(
    ctx: &Context<'_>,
    keys: impl IntoIterator<Item = i32>,
) -> async_graphql::Result<()> {
    ctx.data_unchecked::<Loaders>().get::<L>().load_many(keys).await?;
    Ok(())
}

pub struct FactoryById(pub AppState);

impl Loader<i32> for FactoryById {
    type Value = factory::Model;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, factory::Model>, Self::Error> {
        Ok(domain::factories::by_ids(&self.0, ids).await?)
    }
}

pub struct ProductsByFactory(pub AppState);

impl Loader<i32> for ProductsByFactory {
    type Value = Vec<product::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, factory_ids: &[i32]) -> Result<HashMap<i32, Vec<product::Model>>, Self::Error> {
        Ok(domain::products::for_factories(&self.0, factory_ids).await?)
    }
}
