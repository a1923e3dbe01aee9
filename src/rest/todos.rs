//! `/api/todos`: the caller's own todos.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use entity::todo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{IfMatch, IfNoneMatch, Tagged};
use super::extract::{Caller, Id, JsonBody};
use super::idempotency::IdempotencyKey;
use super::inputs::{StatusName, TodoInput};
use super::responses::{
    Collection, PageParams, SearchParams, collection, created, deleted, list_request, sort_schema,
};
use crate::domain::error::AppError;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::time;
use crate::domain::todos::{self, parse_status, status_name};
use crate::openapi::{
    BodyErrors, CommonErrors, Conflict, NotFound, NotModified, Partial, PreconditionFailed, QueryErrors,
};
use crate::state::AppState;

/// The documented names of a page of todos and of a PATCH body.
type TodoPage = Collection<TodoBody>;
type TodoPatch = Partial<TodoInput>;

pub fn router() -> OpenApiRouter<AppState> {
    // No DELETE on the collection: axum answers 405 with `Allow: GET,HEAD,POST`.
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update, remove))
}

/// A todo of the caller's.
#[derive(Serialize, ToSchema)]
#[schema(as = Todo)]
pub struct TodoBody {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    #[schema(min_length = 1, max_length = 200, example = "Restock the tea shelf")]
    title: String,
    #[schema(value_type = StatusName)]
    status: &'static str,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    updated_at: chrono::DateTime<chrono::Utc>,
    /// When it was completed; `null` while open.
    #[serde(serialize_with = "time::serialize_option")]
    #[schema(schema_with = crate::openapi::timestamp_or_null, required = true)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    #[serde(flatten)]
    #[param(ignore)]
    page: PageParams,
    #[serde(flatten)]
    #[param(ignore)]
    search: SearchParams,
    /// The field to sort by, `-` in front for descending (default `id`).
    #[param(schema_with = sort_param)]
    sort: Option<String>,
    /// Only the todos with this status (anything else is a 422 on `status`).
    #[param(value_type = Option<StatusName>)]
    status: Option<String>,
}

fn sort_param() -> utoipa::openapi::schema::Object {
    sort_schema(todos::SPEC.sort_names())
}

/// List your todos
///
/// One page of the caller's todos, in ascending id order unless `sort` says
/// otherwise, optionally of one status; `q` searches the title.
#[utoipa::path(
    get,
    path = "/",
    tag = "todos",
    operation_id = "listTodos",
    params(PageParams, SearchParams, ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of todos", body = TodoPage,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` while there is a next page, `<...>; rel=\"prev\"` while there is a previous one"))),
        CommonErrors, QueryErrors,
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let mut parser = Parser::new(Face::Rest);
    if let Some(status) = params.status.as_deref()
        && parse_status(status).is_err()
    {
        parser.error("status", "must be open or completed");
    }
    let filter = Filter { status: params.status, ..Filter::default() };
    let sort = params.sort.as_deref();
    let request = list_request(parser, &todos::SPEC, &params.page, &params.search, sort, filter);
    let page = todos::list(&state, caller.viewer(), request).await?;
    Ok(collection(&uri, page.map(TodoBody::from)))
}

/// Get one of your todos
///
/// Another user's todo does not exist for you: 404.
#[utoipa::path(
    get,
    path = "/{id}",
    tag = "todos",
    operation_id = "getTodo",
    params(Id, IfNoneMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The todo", body = TodoBody,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 304, response = NotModified),
        (status = 404, response = NotFound),
        CommonErrors,
    ),
)]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    if_none_match: IfNoneMatch,
) -> Result<Response, AppError> {
    Ok(if_none_match.answer(&TodoBody::from(todos::get(&state, caller.viewer(), id).await?)))
}

/// Create a todo
///
/// The body of the answer equals a later `GET`.
#[utoipa::path(
    post,
    path = "/",
    tag = "todos",
    operation_id = "createTodo",
    params(IdempotencyKey),
    request_body = TodoInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TodoBody,
            headers(("Location" = String, description = "`/api/todos/{id}`"), ("ETag" = String, description = "The strong tag of this representation"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key`"))),
        (status = 409, response = Conflict),
        CommonErrors, BodyErrors,
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<TodoInput>,
) -> Result<Response, AppError> {
    let todo = todos::create(&state, caller.viewer(), input.into()).await?;
    Ok(created(format!("/api/todos/{}", todo.id), TodoBody::from(todo)))
}

/// Update one of your todos
///
/// Only the fields present change; completing sets `completed_at`, reopening clears it.
#[utoipa::path(
    patch,
    path = "/{id}",
    tag = "todos",
    operation_id = "updateTodo",
    params(Id, IfMatch),
    request_body = TodoPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The todo as it is now", body = TodoBody,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        CommonErrors, BodyErrors,
    ),
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    if_match: IfMatch,
    JsonBody(input): JsonBody<TodoInput>,
) -> Result<Tagged<TodoBody>, AppError> {
    let check = |current: &todo::Model| if_match.matches(&TodoBody::from(current.clone()));
    let todo = todos::update(&state, caller.viewer(), id, input.into(), &if_match.expect(&check)).await?;
    Ok(Tagged(todo.into()))
}

/// Delete one of your todos
#[utoipa::path(
    delete,
    path = "/{id}",
    tag = "todos",
    operation_id = "deleteTodo",
    params(Id, IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        CommonErrors,
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    if_match: IfMatch,
) -> Result<StatusCode, AppError> {
    let check = |current: &todo::Model| if_match.matches(&TodoBody::from(current.clone()));
    deleted(todos::delete(&state, caller.viewer(), id, &if_match.expect(&check))).await
}
