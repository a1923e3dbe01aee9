//! `/api/stores`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use entity::{item, store};
use serde::Serialize;

use super::extract::{Caller, Id, JsonBody};
use super::responses::{PageParams, collection, created};
use crate::domain::input::WriteMode;
use crate::domain::stores::{self, StoreInput};
use crate::domain::{Money, time};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(show).put(replace).patch(update).delete(remove))
}

#[derive(Serialize)]
pub struct StoreBody {
    id: i32,
    name: String,
    #[serde(serialize_with = "time::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<store::Model> for StoreBody {
    fn from(s: store::Model) -> Self {
        Self { id: s.id, name: s.name, created_at: s.created_at, updated_at: s.updated_at }
    }
}

/// A store as `GET /api/stores/{id}` shows it: with its items.
#[derive(Serialize)]
pub struct StoreDetail {
    #[serde(flatten)]
    store: StoreBody,
    items: Vec<ItemSummary>,
}

#[derive(Serialize)]
struct ItemSummary {
    id: i32,
    name: String,
    price: f64,
}

impl From<item::Model> for ItemSummary {
    fn from(i: item::Model) -> Self {
        Self { id: i.id, name: i.name, price: Money::from_cents(i.price_cents).as_f64() }
    }
}

fn detail(store: store::Model, items: Vec<item::Model>) -> StoreDetail {
    StoreDetail { store: store.into(), items: items.into_iter().map(ItemSummary::from).collect() }
}

fn location(id: i32) -> String {
    format!("/api/stores/{id}")
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let page = stores::list(&state.db, params.page()?).await?;
    let next = page.next_cursor(|s| s.id);
    Ok(collection(&uri, page.map(StoreBody::from), next))
}

async fn show(State(state): State<AppState>, Id(id): Id) -> Result<Json<StoreDetail>, AppError> {
    let (store, items) = stores::get_with_items(&state.db, id).await?;
    Ok(Json(detail(store, items)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<StoreInput>,
) -> Result<Response, AppError> {
    let store = stores::create(&state.db, caller.viewer(), input).await?;
    // A new store has no items yet; the body equals a later GET.
    Ok(created(location(store.id), detail(store, Vec::new())))
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<StoreInput>,
) -> Result<Json<StoreDetail>, AppError> {
    write(state, caller, id, input, WriteMode::Full).await
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<StoreInput>,
) -> Result<Json<StoreDetail>, AppError> {
    write(state, caller, id, input, WriteMode::Partial).await
}

async fn write(
    state: AppState,
    caller: Caller,
    id: i32,
    input: StoreInput,
    mode: WriteMode,
) -> Result<Json<StoreDetail>, AppError> {
    stores::update(&state.db, caller.viewer(), id, input, mode).await?;
    let (store, items) = stores::get_with_items(&state.db, id).await?;
    Ok(Json(detail(store, items)))
}

async fn remove(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, AppError> {
    stores::delete(&state.db, caller.viewer(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
