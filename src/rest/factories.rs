//! `/api/factories`.

use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use entity::factory;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{IfMatch, IfNoneMatch, Tagged};
use super::extract::{Caller, Id, JsonBody};
use super::idempotency::IdempotencyKey;
use super::inputs::FactoryInput;
use super::responses::{
    Collection, PageParams, SearchParams, collection, created, deleted, list_request, sort_schema,
};
use crate::domain::error::AppError;
use crate::domain::factories;
use crate::domain::input::WriteMode;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::time;
use crate::openapi::{
    BodyErrors, CommonErrors, Conflict, Forbidden, NotFound, NotModified, Partial, PreconditionFailed,
    QueryErrors,
};
use crate::state::AppState;

/// The documented names of a page of factories and of a PATCH body.
type FactoryPage = Collection<FactoryBody>;
type FactoryPatch = Partial<FactoryInput>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, replace, update, remove))
}

/// A factory.
#[derive(Serialize, ToSchema)]
#[schema(as = Factory)]
pub struct FactoryBody {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    #[schema(min_length = 1, max_length = 80, example = "Hsinchu Works")]
    name: String,
    #[schema(min_length = 1, max_length = 200, example = "1 Science Park Road")]
    address: String,
    #[schema(min_length = 1, max_length = 80, example = "Hsinchu")]
    city: String,
    #[schema(min_length = 1, max_length = 80, example = "Taiwan")]
    country: String,
    #[schema(required = true, min_length = 1, max_length = 40, example = "+886-3-555-0100")]
    phone: Option<String>,
    #[schema(required = true, format = Email, example = "plant@example.com")]
    email: Option<String>,
    #[schema(required = true, minimum = 1800, maximum = 2100, example = 1987)]
    established_year: Option<i32>,
    /// Units per month.
    #[schema(required = true, minimum = 0, example = 12000)]
    capacity_per_month: Option<i32>,
    #[schema(max_items = 50, example = json!(["ISO 9001"]))]
    certifications: Vec<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
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
    /// Only the factories in this country (exact).
    country: Option<String>,
    /// Only the factories holding this certification.
    certification: Option<String>,
}

fn sort_param() -> utoipa::openapi::schema::Object {
    sort_schema(factories::SPEC.sort_names())
}

/// List factories
///
/// One page of factories, in ascending id order unless `sort` says
/// otherwise; `q` searches the name, city and country. Reads need no token.
#[utoipa::path(
    get,
    path = "/",
    tag = "factories",
    operation_id = "listFactories",
    params(PageParams, SearchParams, ListParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of factories", body = FactoryPage,
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
    let filter = Filter { country: params.country, certification: params.certification, ..Filter::default() };
    let sort = params.sort.as_deref();
    let request = list_request(parser, &factories::SPEC, &params.page, &params.search, sort, filter)?;
    let page = factories::list(&state, &request).await?;
    Ok(collection(&uri, page.map(FactoryBody::from)))
}

/// Get a factory
#[utoipa::path(
    get,
    path = "/{id}",
    tag = "factories",
    operation_id = "getFactory",
    params(Id, IfNoneMatch),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The factory", body = FactoryBody,
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
    Ok(if_none_match.answer(&FactoryBody::from(factories::get(&state, id).await?)))
}

/// Create a factory
///
/// Admins only. The body of the answer equals a later `GET`.
#[utoipa::path(
    post,
    path = "/",
    tag = "factories",
    operation_id = "createFactory",
    params(IdempotencyKey),
    request_body = FactoryInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = FactoryBody,
            headers(("Location" = String, description = "`/api/factories/{id}`"), ("ETag" = String, description = "The strong tag of this representation"),
                ("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key`"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        CommonErrors, BodyErrors,
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<FactoryInput>,
) -> Result<Response, AppError> {
    let factory = factories::create(&state, caller.viewer(), input.into()).await?;
    Ok(created(format!("/api/factories/{}", factory.id), FactoryBody::from(factory)))
}

/// Replace a factory
///
/// Admins only; the required fields must be present, and optional ones left out are cleared.
#[utoipa::path(
    put,
    path = "/{id}",
    tag = "factories",
    operation_id = "replaceFactory",
    params(Id, IfMatch),
    request_body = FactoryInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The factory as it is now", body = FactoryBody,
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
    JsonBody(input): JsonBody<FactoryInput>,
) -> Result<Tagged<FactoryBody>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Full).await
}

/// Update a factory
///
/// Admins only; only the fields present change.
#[utoipa::path(
    patch,
    path = "/{id}",
    tag = "factories",
    operation_id = "updateFactory",
    params(Id, IfMatch),
    request_body = FactoryPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The factory as it is now", body = FactoryBody,
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
    JsonBody(input): JsonBody<FactoryInput>,
) -> Result<Tagged<FactoryBody>, AppError> {
    write(state, caller, id, if_match, input, WriteMode::Partial).await
}

async fn write(
    state: AppState,
    caller: Caller,
    id: i32,
    if_match: IfMatch,
    input: FactoryInput,
    mode: WriteMode,
) -> Result<Tagged<FactoryBody>, AppError> {
    let check = |current: &factory::Model| if_match.matches(&FactoryBody::from(current.clone()));
    let written =
        factories::update(&state, caller.viewer(), id, input.into(), mode, &if_match.expect(&check)).await?;
    Ok(Tagged(written.into()))
}

/// Delete a factory
///
/// Admins only; a factory that still has products is a 409 (never a silent cascade).
#[utoipa::path(
    delete,
    path = "/{id}",
    tag = "factories",
    operation_id = "deleteFactory",
    params(Id, IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
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
    let check = |current: &factory::Model| if_match.matches(&FactoryBody::from(current.clone()));
    deleted(factories::delete(&state, caller.viewer(), id, &if_match.expect(&check))).await
}
