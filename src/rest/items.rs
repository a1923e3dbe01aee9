//! `/api/items`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use entity::item;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{IfMatch, IfNoneMatch, Tagged};
use super::extract::{Caller, Id, JsonBody};
use super::idempotency::IdempotencyKey;
use super::inputs::ItemInput;
use super::responses::{
    Collection, PageParams, SearchParams, collection, created, deleted, list_request, sort_schema,
};
use crate::domain::error::AppError;
use crate::domain::input::WriteMode;
use crate::domain::items;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::{Money, time};
use crate::openapi::{
    BodyErrors, CommonErrors, Conflict, Forbidden, NotFound, NotModified, Partial, PreconditionFailed,
    QueryErrors,
};
use crate::state::AppState;

/// The documented names of a page of items and of a PATCH body.
type ItemPage = Collection<ItemBody>;
type ItemPatch = Partial<ItemInput>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, replace, update, remove))
}

/// An item.
#[derive(Serialize, ToSchema)]
#[schema(as = Item)]
pub struct ItemBody {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    #[schema(min_length = 1, max_length = 80, example = "Tea")]
    name: String,
    #[schema(schema_with = crate::openapi::price_out)]
    price: f64,
    /// The store that holds it.
    #[schema(schema_with = crate::openapi::id)]
    store_id: i32,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
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
    /// Only the items of this store (any 32-bit integer; anything else is a 422 on `store_id`).
    #[param(value_type = Option<i32>, minimum = -2147483648, maximum = 2147483647, example = 1)]
    store_id: Option<String>,
    /// Only rows priced at least this much (inclusive).
    #[param(value_type = Option<f64>, minimum = 0, example = 1.5)]
    price_min: Option<String>,
    /// Only rows priced at most this much (inclusive; not below `price_min`).
    #[param(value_type = Option<f64>, minimum = 0, example = 20)]
    price_max: Option<String>,
}

fn sort_param() -> utoipa::openapi::schema::Object {
    sort_schema(items::SPEC.sort_names())
}

/// List items
///
/// One page of items, in ascending id order unless `sort` says otherwise,
/// optionally of one store; `q` searches the name. Reads need no token.
#[utoipa::path(
    get,
    path = "/",
    tag = "items",
    operation_id = "listItems",
    params(PageParams, SearchParams, ListParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of items", body = ItemPage,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` while there is a next page, `<...>; rel=\"prev\"` while there is a previous one"))),
        CommonErrors, QueryErrors,
    ),
)]
async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let mut parser = Parser::new(Face::Rest);
    let filter = Filter {
        store_id: parser.id_text("store_id", params.store_id.as_deref()),
        price_min: parser.price_text("price_min", params.price_min.as_deref()),
        price_max: parser.price_text("price_max", params.price_max.as_deref()),
        ..Filter::default()
    };
    let sort = params.sort.as_deref();
    let request = list_request(parser, &items::SPEC, &params.page, &params.search, sort, filter)?;
    let page = items::list(&state, &request).await?;
    Ok(collection(&uri, page.map(ItemBody::from)))
}

/// Get an item
#[utoipa::path(
    get,
    path = "/{id}",
    tag = "items",
    operation_id = "getItem",
    params(Id, IfNoneMatch),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The item", body = ItemBody,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 304, response = NotModified),
        (status = 404, response = NotFound),
        CommonErrors,
    ),
)]
async fn show(
    State(state): State<AppState>,
    Id(id): Id,
    if_none_match: IfNoneMatch,
) -> Result<Response, AppError> {
    Ok(if_none_match.answer(&ItemBody::from(items::get(&state, id).await?)))
}

/// Create an item
///
/// The owner of the store named by `store_id` (or an admin), with a fresh token (straight
/// from login). The body of the answer equals a later `GET`.
#[utoipa::path(
    post,
    path = "/",
    tag = "items",
    operation_id = "createItem",
    params(IdempotencyKey),
    request_body = ItemInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ItemBody,
            headers(("Location" = String, description = "`/api/items/{id}`"), ("ETag" = String, description = "The strong tag of this representation"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key`"))),
        (status = 409, response = Conflict),
        (status = 403, response = Forbidden),
        CommonErrors, BodyErrors,
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<ItemInput>,
) -> Result<Response, AppError> {
    let item = items::create(&state, caller.viewer(), input.into()).await?;
    Ok(created(format!("/api/items/{}", item.id), ItemBody::from(item)))
}

/// Replace an item
///
/// The owner of the item's store (or an admin), with a fresh token; every field is required.
/// Moving the item to another store (`store_id`) needs that store's owner too.
#[utoipa::path(
    put,
    path = "/{id}",
    tag = "items",
    operation_id = "replaceItem",
    params(Id, IfMatch),
    request_body = ItemInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The item as it is now", body = ItemBody,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        CommonErrors, BodyErrors,
    ),
)]
async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    if_match: IfMatch,
    JsonBody(input): JsonBody<ItemInput>,
) -> Result<Tagged<ItemBody>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Full).await
}

/// Update an item
///
/// The owner of the item's store (or an admin), with a fresh token; only the fields present
/// change. Moving the item to another store (`store_id`) needs that store's owner too.
#[utoipa::path(
    patch,
    path = "/{id}",
    tag = "items",
    operation_id = "updateItem",
    params(Id, IfMatch),
    request_body = ItemPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The item as it is now", body = ItemBody,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 403, response = Forbidden),
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
    JsonBody(input): JsonBody<ItemInput>,
) -> Result<Tagged<ItemBody>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Partial).await
}

async fn write(
    state: AppState,
    caller: Caller,
    id: i32,
    if_match: IfMatch,
    input: ItemInput,
    mode: WriteMode,
) -> Result<Tagged<ItemBody>, AppError> {
    let check = |current: &item::Model| if_match.matches(&ItemBody::from(current.clone()));
    let item =
        items::update(&state, caller.viewer(), id, input.into(), mode, &if_match.expect(&check)).await?;
    Ok(Tagged(item.into()))
}

/// Delete an item
///
/// The owner of the item's store, or an admin.
#[utoipa::path(
    delete,
    path = "/{id}",
    tag = "items",
    operation_id = "deleteItem",
    params(Id, IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
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
    let check = |current: &item::Model| if_match.matches(&ItemBody::from(current.clone()));
    deleted(items::delete(&state, caller.viewer(), id, &if_match.expect(&check))).await
}
