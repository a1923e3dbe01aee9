//! `/api/todos`: the caller's own todos.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use entity::todo;
use serde::{Deserialize, Serialize};

use super::extract::{Caller, Id, JsonBody};
use super::responses::{PageParams, collection, created};
use crate::domain::time;
use crate::domain::todos::{self, TodoInput, parse_status, status_name};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // No DELETE on the collection: axum answers 405 with `Allow: GET,HEAD,POST`.
    Router::new().route("/", get(list).post(create)).route("/{id}", get(show).patch(update).delete(remove))
}

#[derive(Serialize)]
pub struct TodoBody {
    id: i32,
    title: String,
    status: &'static str,
    #[serde(serialize_with = "time::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    updated_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize_option")]
    completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<todo::Model> for TodoBody {
    fn from(t: todo::Model) -> Self {
        Self {
            id: t.id,
            title: t.title,
            status: status_name(t.status),
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: t.completed_at,
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let status = params.status.as_deref().map(parse_status).transpose()?;
    let page = todos::list(&state.db, caller.viewer(), status, params.page.page()?).await?;
    let next = page.next_cursor(|t| t.id);
    Ok(collection(&uri, page.map(TodoBody::from), next))
}

async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<TodoBody>, AppError> {
    Ok(Json(todos::get(&state.db, caller.viewer(), id).await?.into()))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<TodoInput>,
) -> Result<Response, AppError> {
    let todo = todos::create(&state.db, caller.viewer(), input).await?;
    Ok(created(format!("/api/todos/{}", todo.id), TodoBody::from(todo)))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonBody(input): JsonBody<TodoInput>,
) -> Result<Json<TodoBody>, AppError> {
    Ok(Json(todos::update(&state.db, caller.viewer(), id, input).await?.into()))
}

async fn remove(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, AppError> {
    todos::delete(&state.db, caller.viewer(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
