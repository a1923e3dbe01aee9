//! Subscriptions over `graphql-transport-ws` at `/graphql/ws`:
//! `itemChanged(storeId)` for anyone, `todoChanged` for a signed-in user's
//! own todos. The token travels in `connection_init`'s payload
//! (`{"Authorization": "Bearer …"}`) and is verified like any request's,
//! revocation included.

use async_graphql::{Context, Data, ID, SimpleObject, Subscription};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::AppSchema;
use super::context::{parse_id, state, viewer};
use super::items::Item;
use super::todos::Todo;
use crate::auth::{TokenKind, Viewer};
use crate::domain::permissions::require_user;
use crate::error::AppError;
use crate::events::{Change, ChangeKind};
use crate::state::AppState;

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
        let store_id = store_id.map(|id| parse_id(&id).unwrap_or(-1));
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

/// Upgrades `/graphql/ws` and authenticates the connection from its
/// `connection_init` payload.
pub async fn websocket(
    State((app, schema)): State<(AppState, AppSchema)>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move { connection_data(&app, &payload).await })
                .serve()
        })
        .into_response()
}

/// The viewer of a websocket connection: anonymous without a token, refused
/// (the connection closes) with a bad one.
async fn connection_data(app: &AppState, payload: &serde_json::Value) -> async_graphql::Result<Data> {
    let token = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(key).and_then(|v| v.as_str()))
        .map(str::to_string);
    let viewer: Option<Viewer> = match token {
        None => None,
        Some(value) => {
            let mut headers = HeaderMap::new();
            let header =
                value.parse().map_err(|_| AppError::invalid_token("the Authorization value is malformed"))?;
            headers.insert(axum::http::header::AUTHORIZATION, header);
            let Some(token) = crate::auth::viewer::bearer_token(&headers)? else {
                return Ok(Data::default());
            };
            let claims = app.tokens.verify(token, TokenKind::Access)?;
            Some(crate::auth::viewer::verified_viewer(app, &claims).await?)
        }
    };
    let mut data = Data::default();
    data.insert(viewer);
    Ok(data)
}
