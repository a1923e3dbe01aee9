//! `/api/products`. A product shows only its factory's id and name; the
//! full factory is `GET /api/factories/{id}`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{IfMatch, IfNoneMatch, Tagged};
use super::extract::{Caller, Id, JsonBody};
use super::idempotency::IdempotencyKey;
use super::inputs::ProductInput;
use super::responses::{
    Collection, PageParams, SearchParams, collection, created, deleted, list_request, sort_schema,
};
use crate::domain::error::AppError;
use crate::domain::input::WriteMode;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::products::{self, ProductRow, ProductSummaryRow};
use crate::domain::{Money, time};
use crate::openapi::{
    BodyErrors, CommonErrors, Conflict, Forbidden, NotFound, NotModified, Partial, PreconditionFailed,
    QueryErrors,
};
use crate::state::AppState;

/// The documented names of a page of products and of a PATCH body.
type ProductPage = Collection<ProductBody>;
type ProductPatch = Partial<ProductInput>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, replace, update, remove))
}

/// A product, with its factory's id and name (the full factory is
/// `GET /api/factories/{id}`).
#[derive(Serialize, ToSchema)]
#[schema(as = Product)]
pub struct ProductBody {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    /// Unique.
    #[schema(min_length = 1, max_length = 64, example = "TEA-001")]
    sku: String,
    #[schema(min_length = 1, max_length = 80, example = "Green tea")]
    name: String,
    #[schema(required = true, max_length = 2000, example = "Loose leaf, 100 g")]
    description: Option<String>,
    #[schema(schema_with = crate::openapi::price_out)]
    price: f64,
    factory: FactorySummary,
    #[schema(schema_with = crate::openapi::owner_id, required = true)]
    owner_id: Option<i32>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// The factory that makes a product: its id and name only.
#[derive(Serialize, ToSchema)]
struct FactorySummary {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    #[schema(min_length = 1, max_length = 80, example = "Hsinchu Works")]
    name: String,
}

impl From<ProductSummaryRow> for ProductBody {
    fn from(row: ProductSummaryRow) -> Self {
        let p = row.product;
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            price: Money::from_cents(p.price_cents).as_f64(),
            factory: FactorySummary { id: p.factory_id, name: row.factory_name },
            owner_id: p.owner_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<ProductRow> for ProductBody {
    fn from(row: ProductRow) -> Self {
        ProductSummaryRow { product: row.product, factory_name: row.factory.name.clone() }.into()
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
    /// Only the products of this factory (any 32-bit integer; anything else is a 422 on `factory_id`).
    #[param(value_type = Option<i32>, minimum = -2147483648, maximum = 2147483647, example = 1)]
    factory_id: Option<String>,
    /// Only rows priced at least this much (inclusive).
    #[param(value_type = Option<f64>, minimum = 0, example = 1.5)]
    price_min: Option<String>,
    /// Only rows priced at most this much (inclusive; not below `price_min`).
    #[param(value_type = Option<f64>, minimum = 0, example = 20)]
    price_max: Option<String>,
}

fn sort_param() -> utoipa::openapi::schema::Object {
    sort_schema(products::SPEC.sort_names())
}

/// List products
///
/// One page of products, in ascending id order unless `sort` says
/// otherwise, optionally of one factory; `q` searches the name, SKU and
/// description. Reads need no token.
#[utoipa::path(
    get,
    path = "/",
    tag = "products",
    operation_id = "listProducts",
    params(PageParams, SearchParams, ListParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of products", body = ProductPage,
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
        factory_id: parser.id_text("factory_id", params.factory_id.as_deref()),
        price_min: parser.price_text("price_min", params.price_min.as_deref()),
        price_max: parser.price_text("price_max", params.price_max.as_deref()),
        ..Filter::default()
    };
    let sort = params.sort.as_deref();
    let request = list_request(parser, &products::SPEC, &params.page, &params.search, sort, filter)?;
    let page = products::list(&state, &request).await?;
    Ok(collection(&uri, page.map(ProductBody::from)))
}

/// Get a product
#[utoipa::path(
    get,
    path = "/{id}",
    tag = "products",
    operation_id = "getProduct",
    params(Id, IfNoneMatch),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The product", body = ProductBody,
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
    Ok(if_none_match.answer(&ProductBody::from(products::get_summary(&state, id).await?)))
}

/// Create a product
///
/// Any signed-in user with a fresh token (straight from login), who becomes its owner
/// (`owner_id`). The body of the answer equals a later `GET`.
#[utoipa::path(
    post,
    path = "/",
    tag = "products",
    operation_id = "createProduct",
    params(IdempotencyKey),
    request_body = ProductInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ProductBody,
            headers(("Location" = String, description = "`/api/products/{id}`"), ("ETag" = String, description = "The strong tag of this representation"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key`"))),
        (status = 409, response = Conflict),
        CommonErrors, BodyErrors,
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Response, AppError> {
    let row = products::create(&state, caller.viewer(), input.into()).await?;
    Ok(created(format!("/api/products/{}", row.product.id), ProductBody::from(row)))
}

/// Replace a product
///
/// Its owner or an admin, with a fresh token; the required fields must be present, and a
/// `description` left out is cleared.
#[utoipa::path(
    put,
    path = "/{id}",
    tag = "products",
    operation_id = "replaceProduct",
    params(Id, IfMatch),
    request_body = ProductInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The product as it is now", body = ProductBody,
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
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Tagged<ProductBody>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Full).await
}

/// Update a product
///
/// Its owner or an admin, with a fresh token; only the fields present change.
#[utoipa::path(
    patch,
    path = "/{id}",
    tag = "products",
    operation_id = "updateProduct",
    params(Id, IfMatch),
    request_body = ProductPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The product as it is now", body = ProductBody,
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
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Tagged<ProductBody>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Partial).await
}

async fn write(
    state: AppState,
    caller: Caller,
    id: i32,
    if_match: IfMatch,
    input: ProductInput,
    mode: WriteMode,
) -> Result<Tagged<ProductBody>, AppError> {
    let check = |current: &ProductSummaryRow| if_match.matches(&ProductBody::from(current.clone()));
    let written =
        products::update(&state, caller.viewer(), id, input.into(), mode, &if_match.expect(&check)).await?;
    Ok(Tagged(written.into()))
}

/// Delete a product
///
/// Its owner or an admin.
#[utoipa::path(
    delete,
    path = "/{id}",
    tag = "products",
    operation_id = "deleteProduct",
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
    let check = |current: &ProductSummaryRow| if_match.matches(&ProductBody::from(current.clone()));
    deleted(products::delete(&state, caller.viewer(), id, &if_match.expect(&check))).await
}
