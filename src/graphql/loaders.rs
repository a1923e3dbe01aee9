//! DataLoaders: a page of N parents loads its children in one statement,
//! not N. Built per request, so nothing is cached across callers.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{item, store};
use sea_orm::DatabaseConnection;

use crate::domain;

pub struct StoreById(pub DatabaseConnection);

impl Loader<i32> for StoreById {
    type Value = store::Model;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, store::Model>, Self::Error> {
        Ok(domain::stores::by_ids(&self.0, ids).await?)
    }
}

pub struct ItemsByStore(pub DatabaseConnection);

impl Loader<i32> for ItemsByStore {
    type Value = Vec<item::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, store_ids: &[i32]) -> Result<HashMap<i32, Vec<item::Model>>, Self::Error> {
        Ok(domain::items::for_stores(&self.0, store_ids).await?)
    }
}

/// Adds a fresh set of loaders to one GraphQL request.
pub fn install(request: async_graphql::Request, db: &DatabaseConnection) -> async_graphql::Request {
    request
        .data(DataLoader::new(StoreById(db.clone()), tokio::spawn))
        .data(DataLoader::new(ItemsByStore(db.clone()), tokio::spawn))
}
