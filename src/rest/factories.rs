//! `/api/factories`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use entity::factory;
use serde::Serialize;

use super::extract::{Caller, Id, JsonBody};
use super::responses::{PageParams, collection, created};
use crate::domain::factories::{self, FactoryInput};
use crate::domain::input::WriteMode;
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(show).put(replace).patch(update).delete(remove))
}

#[derive(Serialize)]
pub struct FactoryBody {
    id: i32,
    name: String,
    address: String,
    city: String,
    country: String,
    phone: Option<String>,
    email: Option<String>,
    established_year: Option<i32>,
    capacity_per_month: Option<i32>,
    certifications: Vec<String>,
    #[serde(serialize_with = "time::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<factory::Model> for FactoryBody {
    fn from(f: factory::Model) -> Self {
        Self {
            id: f.id,
            name: f.name,
            address: f.address,
            city: f.city,
            country: f.country,
            phone: f.phone,
            email: f.email,
            established_year: f.established_year,
            capacity_per_month: f.capacity_per_month,
            certifications: f.certifications.0,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let page = factories::list(&state.db, params.page()?).await?;
    let next = page.next_cursor(|f| f.id);
    Ok(collection(&uri, page.map(FactoryBody::from), next))
}

async fn show(State(state): State<AppState>, Id(id): Id) -> Result<Json<FactoryBody>, AppError> {
    Ok(Json(factories::get(&state.db, id).await?.into()))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<FactoryInput>,
) -> Result<Response, AppError> {
    let factory = factories::create(&state.db, caller.viewer(), input).await?;
    Ok(created(format!("/api/factories/{}", factory.id), FactoryBody::from(factory)))
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<FactoryInput>,
) -> Result<Json<FactoryBody>, AppError> {
    Ok(Json(factories::update(&state.db, caller.viewer(), id, input, WriteMode::Full).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<FactoryInput>,
) -> Result<Json<FactoryBody>, AppError> {
    Ok(Json(factories::update(&state.db, caller.viewer(), id, input, WriteMode::Partial).await?.into()))
}

async fn remove(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, AppError> {
    factories::delete(&state.db, caller.viewer(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
