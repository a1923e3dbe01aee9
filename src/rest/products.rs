//! `/api/products`. A product shows only its factory's id and name; the
//! full factory is `GET /api/factories/{id}`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::extract::{Caller, Id, JsonBody};
use super::responses::{PageParams, collection, created, id_filter};
use crate::domain::input::WriteMode;
use crate::domain::products::{self, ProductInput, ProductRow};
use crate::domain::{Money, time};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(show).put(replace).patch(update).delete(remove))
}

#[derive(Serialize)]
pub struct ProductBody {
    id: i32,
    sku: String,
    name: String,
    description: Option<String>,
    price: f64,
    factory: FactorySummary,
    #[serde(serialize_with = "time::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct FactorySummary {
    id: i32,
    name: String,
}

impl From<ProductRow> for ProductBody {
    fn from(row: ProductRow) -> Self {
        let p = row.product;
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            price: Money::from_cents(p.price_cents).as_f64(),
            factory: FactorySummary { id: row.factory.id, name: row.factory.name },
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    factory_id: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let factory_id = id_filter("factory_id", params.factory_id.as_deref())?;
    let page = products::list(&state.db, factory_id, params.page.page()?).await?;
    let next = page.next_cursor(|row| row.product.id);
    Ok(collection(&uri, page.map(ProductBody::from), next))
}

async fn show(State(state): State<AppState>, Id(id): Id) -> Result<Json<ProductBody>, AppError> {
    Ok(Json(products::get(&state.db, id).await?.into()))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Response, AppError> {
    let row = products::create(&state.db, caller.viewer(), input).await?;
    Ok(created(format!("/api/products/{}", row.product.id), ProductBody::from(row)))
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Json<ProductBody>, AppError> {
    Ok(Json(products::update(&state.db, caller.viewer(), id, input, WriteMode::Full).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Json<ProductBody>, AppError> {
    Ok(Json(products::update(&state.db, caller.viewer(), id, input, WriteMode::Partial).await?.into()))
}

async fn remove(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, AppError> {
    products::delete(&state.db, caller.viewer(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
