//! `/api/items`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use entity::item;
use serde::{Deserialize, Serialize};

use super::extract::{Caller, Id, JsonBody};
use super::responses::{PageParams, collection, created, id_filter};
use crate::domain::input::WriteMode;
use crate::domain::items::{self, ItemInput};
use crate::domain::{Money, time};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(show).put(replace).patch(update).delete(remove))
}

#[derive(Serialize)]
pub struct ItemBody {
    id: i32,
    name: String,
    price: f64,
    store_id: i32,
    #[serde(serialize_with = "time::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<item::Model> for ItemBody {
    fn from(i: item::Model) -> Self {
        Self {
            id: i.id,
            name: i.name,
            price: Money::from_cents(i.price_cents).as_f64(),
            store_id: i.store_id,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    store_id: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let store_id = id_filter("store_id", params.store_id.as_deref())?;
    let page = items::list(&state.db, store_id, params.page.page()?).await?;
    let next = page.next_cursor(|i| i.id);
    Ok(collection(&uri, page.map(ItemBody::from), next))
}

async fn show(State(state): State<AppState>, Id(id): Id) -> Result<Json<ItemBody>, AppError> {
    Ok(Json(items::get(&state.db, id).await?.into()))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<ItemInput>,
) -> Result<Response, AppError> {
    let item = items::create(&state.db, caller.viewer(), input).await?;
    Ok(created(format!("/api/items/{}", item.id), ItemBody::from(item)))
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<ItemInput>,
) -> Result<Json<ItemBody>, AppError> {
    Ok(Json(items::update(&state.db, caller.viewer(), id, input, WriteMode::Full).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<ItemInput>,
) -> Result<Json<ItemBody>, AppError> {
    Ok(Json(items::update(&state.db, caller.viewer(), id, input, WriteMode::Partial).await?.into()))
}

async fn remove(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, AppError> {
    items::delete(&state.db, caller.viewer(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
