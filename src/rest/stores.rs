//! `/api/stores`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use entity::store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{IfMatch, IfNoneMatch, Tagged};
use super::extract::{Caller, Id, JsonBody};
use super::idempotency::IdempotencyKey;
use super::inputs::StoreInput;
use super::responses::{
    Collection, PageParams, SearchParams, collection, created, deleted, list_request, sort_schema,
};
use crate::domain::error::AppError;
use crate::domain::input::WriteMode;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::stores::{self, StoreWithSummaries};
use crate::domain::{Money, time};
use crate::openapi::{
    BodyErrors, CommonErrors, Conflict, Forbidden, NotFound, NotModified, Partial, PreconditionFailed,
    QueryErrors,
};
use crate::state::AppState;

/// The documented names of a page of stores and of a PATCH body.
type StorePage = Collection<StoreBody>;
type StorePatch = Partial<StoreInput>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, replace, update, remove))
}

/// A store, as lists show it.
#[derive(Serialize, ToSchema)]
#[schema(as = Store)]
pub struct StoreBody {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    /// Unique case-insensitively.
    #[schema(min_length = 1, max_length = 80, example = "Corner Shop")]
    name: String,
    #[schema(schema_with = crate::openapi::owner_id, required = true)]
    owner_id: Option<i32>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<store::Model> for StoreBody {
    fn from(s: store::Model) -> Self {
        Self {
            id: s.id,
            name: s.name,
            owner_id: s.owner_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A store as `GET /api/stores/{id}` shows it: with its items.
#[derive(Serialize, ToSchema)]
pub struct StoreDetail {
    #[serde(flatten)]
    store: StoreBody,
    /// All of the store's items, in ascending id order.
    items: Vec<ItemSummary>,
}

/// An item as its store shows it (the full item is `GET /api/items/{id}`).
#[derive(Serialize, ToSchema)]
struct ItemSummary {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    #[schema(min_length = 1, max_length = 80, example = "Tea")]
    name: String,
    #[schema(schema_with = crate::openapi::price_out)]
    price: f64,
}

impl From<stores::ItemSummary> for ItemSummary {
    fn from(i: stores::ItemSummary) -> Self {
        Self { id: i.id, name: i.name, price: Money::from_cents(i.price_cents).as_f64() }
    }
}

fn detail(store: store::Model, items: Vec<stores::ItemSummary>) -> StoreDetail {
    StoreDetail { store: store.into(), items: items.into_iter().map(ItemSummary::from).collect() }
}

/// The detail of a store as a conditional write reads it, to hash as `GET`
/// would.
fn detail_of((store, items): &StoreWithSummaries) -> StoreDetail {
    detail(store.clone(), items.clone())
}

fn location(id: i32) -> String {
    format!("/api/stores/{id}")
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
}

fn sort_param() -> utoipa::openapi::schema::Object {
    sort_schema(stores::SPEC.sort_names())
}

/// List stores
///
/// One page of stores, in ascending id order unless `sort` says otherwise;
/// `q` searches the name. Reads need no token.
#[utoipa::path(
    get,
    path = "/",
    tag = "stores",
    operation_id = "listStores",
    params(PageParams, SearchParams, ListParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of stores", body = StorePage,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` while there is a next page, `<...>; rel=\"prev\"` while there is a previous one"))),
        CommonErrors, QueryErrors,
    ),
)]
async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let parser = Parser::new(Face::Rest);
    let sort = params.sort.as_deref();
    let request = list_request(parser, &stores::SPEC, &params.page, &params.search, sort, Filter::default())?;
    let page = stores::list(&state, &request).await?;
    Ok(collection(&uri, page.map(StoreBody::from)))
}

/// Get a store
///
/// The store with all of its items.
#[utoipa::path(
    get,
    path = "/{id}",
    tag = "stores",
    operation_id = "getStore",
    params(Id, IfNoneMatch),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The store with its items", body = StoreDetail,
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
    let (store, items) = stores::get_with_item_summaries(&state, id).await?;
    Ok(if_none_match.answer(&detail(store, items)))
}

/// Create a store
///
/// Any signed-in user, who becomes its owner (`owner_id`). The body of the answer equals a later `GET`.
#[utoipa::path(
    post,
    path = "/",
    tag = "stores",
    operation_id = "createStore",
    params(IdempotencyKey),
    request_body = StoreInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = StoreDetail,
            headers(("Location" = String, description = "`/api/stores/{id}`"), ("ETag" = String, description = "The strong tag of this representation"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key`"))),
        (status = 409, response = Conflict),
        CommonErrors, BodyErrors,
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<StoreInput>,
) -> Result<Response, AppError> {
    let store = stores::create(&state, caller.viewer(), input.into()).await?;
    // A new store has no items yet; the body equals a later GET.
    Ok(created(location(store.id), detail(store, Vec::new())))
}

/// Replace a store
///
/// Its owner or an admin; every field is required.
#[utoipa::path(
    put,
    path = "/{id}",
    tag = "stores",
    operation_id = "replaceStore",
    params(Id, IfMatch),
    request_body = StoreInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store as it is now", body = StoreDetail,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        CommonErrors, BodyErrors,
    ),
)]
async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    if_match: IfMatch,
    JsonBody(input): JsonBody<StoreInput>,
) -> Result<Tagged<StoreDetail>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Full).await
}

/// Update a store
///
/// Its owner or an admin; only the fields present change.
#[utoipa::path(
    patch,
    path = "/{id}",
    tag = "stores",
    operation_id = "updateStore",
    params(Id, IfMatch),
    request_body = StorePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store as it is now", body = StoreDetail,
            headers(("ETag" = String, description = "The strong tag of this representation"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        CommonErrors, BodyErrors,
    ),
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    if_match: IfMatch,
    JsonBody(input): JsonBody<StoreInput>,
) -> Result<Tagged<StoreDetail>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Partial).await
}

async fn write(
    state: AppState,
    caller: Caller,
    id: i32,
    if_match: IfMatch,
    input: StoreInput,
    mode: WriteMode,
) -> Result<Tagged<StoreDetail>, AppError> {
    let check = |current: &StoreWithSummaries| if_match.matches(&detail_of(current));
    stores::update(&state, caller.viewer(), id, input.into(), mode, &if_match.expect(&check)).await?;
    let (store, items) = stores::get_with_item_summaries(&state, id).await?;
    Ok(Tagged(detail(store, items)))
}

/// Delete a store
///
/// Its owner or an admin; the store's items go with it.
#[utoipa::path(
    delete,
    path = "/{id}",
    tag = "stores",
    operation_id = "deleteStore",
    params(Id, IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted, with its items"),
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
    let check = |current: &StoreWithSummaries| if_match.matches(&detail_of(current));
    deleted(stores::delete(&state, caller.viewer(), id, &if_match.expect(&check))).await
}
