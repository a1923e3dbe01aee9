//! Subscriptions, served over the websocket at `/graphql/ws`
//! ([`super::socket`]): `itemChanged(storeId)` for anyone, `todoChanged`
//! for a signed-in user's own todos. The token travels in
//! `connection_init`'s payload (`{"Authorization": "Bearer …"}`); the socket
//! verifies it like any request's and keeps verifying it while it is open.

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::context::{reference_id, state, viewer};
use super::items::Item;
use super::todos::Todo;
use crate::domain::permissions::require_user;
use crate::events::{Change, ChangeKind};

#[derive(SimpleObject)]
pub struct ItemEvent {
    kind: ChangeKind,
    /// The item after the change (before it, for a deletion).
    item: Item,
}

#[derive(SimpleObject)]
pub struct TodoEvent {
    kind: ChangeKind,
    todo: Todo,
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Items created, updated or deleted, optionally in one store.
    async fn item_changed(
        &self,
        ctx: &Context<'_>,
        store_id: Option<ID>,
    ) -> impl Stream<Item = ItemEvent> + use<> {
        // An id that cannot exist matches nothing.
        let store_id = store_id.as_ref().map(reference_id);
        BroadcastStream::new(state(ctx).events.subscribe()).filter_map(move |change| async move {
            match change {
                Ok(Change::Item { kind, item }) if store_id.is_none_or(|s| s == item.store_id) => {
                    Some(ItemEvent { kind, item: Item::new(item) })
                }
                _ => None,
            }
        })
    }

    /// The caller's own todos as they change; needs a token.
    async fn todo_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = TodoEvent> + use<>> {
        let owner = require_user(viewer(ctx))?.user_id;
        Ok(BroadcastStream::new(state(ctx).events.subscribe()).filter_map(move |change| async move {
            match change {
                Ok(Change::Todo { kind, todo }) if todo.owner_id == owner => {
                    Some(TodoEvent { kind, todo: Todo(todo) })
                }
                _ => None,
            }
        }))
    }
}
