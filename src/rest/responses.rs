//! Response shapes shared by every REST resource: 201 with `Location`, 204
//! after a delete, and collections with `next_cursor` and a
//! `Link: rel="next"` header.

use crate::json::JsonResponse;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::domain::error::AppError;
use crate::domain::listing::{Filter, ListPage, ListRequest, PageArgs, Parser, Spec};

/// `201 Created` with a `Location` header and the body's `ETag`.
pub fn created<T: Serialize>(location: String, body: T) -> Response {
    let mut response = super::conditional::tagged_json(StatusCode::CREATED, &body);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `204 No Content` once `delete` has succeeded: what every DELETE route
/// answers, whatever the resource.
///
/// # Errors
/// Whatever `delete` fails with.
pub async fn deleted(delete: impl Future<Output = Result<(), AppError>>) -> Result<StatusCode, AppError> {
    delete.await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a collection. Its schema is named after the row's: the page
/// of `Store` is `StorePage`.
#[derive(Serialize)]
pub struct Collection<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_count: Option<u64>,
}

impl<T: ToSchema> PartialSchema for Collection<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "data",
                ArrayBuilder::new()
                    .items(RefOr::Ref(Ref::from_schema_name(T::name())))
                    .description(Some("At most `limit` rows, in `sort` order (ascending id by default)")),
            )
            .required("data")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type::<SchemaType>([Type::String, Type::Null].into_iter().collect())
                    .description(Some(
                        "Pass as `?cursor=` for the next page (the `Link` header has that URL); \
                         `null` on the last page",
                    )),
            )
            .required("next_cursor")
            .property(
                "prev_cursor",
                ObjectBuilder::new().schema_type(Type::String).description(Some(
                    "Pass as `?cursor=` for the previous page (the `Link: rel=\"prev\"` header has that \
                     URL); absent on the first page",
                )),
            )
            .property(
                "total_count",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .description(Some("With `count=true`: the rows matching the filters, ignoring the page")),
            )
            .into()
    }
}

impl<T: ToSchema> ToSchema for Collection<T> {
    fn name() -> Cow<'static, str> {
        format!("{}Page", T::name()).into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

/// A page as `{data, next_cursor, prev_cursor?, total_count?}`, with
/// `Link: <…>; rel="next"` (and `rel="prev"`) keeping the request's other
/// parameters (page size, sort, filters) and moving the cursor.
pub fn collection<T: Serialize>(uri: &Uri, page: ListPage<T>) -> Response {
    let mut links = Vec::new();
    if let Some(cursor) = &page.next_cursor
        && let Some(link) = link(uri, cursor, "next")
    {
        links.push(link);
    }
    if let Some(cursor) = &page.prev_cursor
        && let Some(link) = link(uri, cursor, "prev")
    {
        links.push(link);
    }
    let mut headers = HeaderMap::new();
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        headers.insert(header::LINK, value);
    }
    let body = Collection {
        data: page.rows,
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor,
        total_count: page.total_count,
    };
    (headers, JsonResponse(body)).into_response()
}

fn link(uri: &Uri, cursor: &str, rel: &str) -> Option<String> {
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    params.retain(|(key, _)| key != "cursor");
    params.push(("cursor".into(), cursor.into()));
    let query = serde_urlencoded::to_string(&params).ok()?;
    Some(format!("<{}?{query}>; rel=\"{rel}\"", uri.path()))
}

/// The query parameters every collection takes, as text so that a bad
/// value becomes a 422 on that field rather than a generic 400.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1 to 100 (default 20); anything else is a 422 on `limit`.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` (or `prev_cursor`) of another page. Opaque: only
    /// cursors this server issued, for the same `sort` and filters, are
    /// accepted (anything else is a 422 on `cursor`).
    pub cursor: Option<String>,
}

/// The search parameters every collection takes (docs/API.md §3.1), as
/// text so that a bad value becomes a 422 on that field.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Case-insensitive substring search (at most 100 characters; which
    /// fields it searches depends on the collection).
    #[param(max_length = 100, example = "tea")]
    pub q: Option<String>,
    /// Only rows created after this instant (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub created_after: Option<String>,
    /// Only rows created before this instant (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-31T00:00:00Z")]
    pub created_before: Option<String>,
    /// `true` adds `total_count` (the rows matching the filters, ignoring the page): one more statement.
    #[param(value_type = Option<bool>)]
    pub count: Option<String>,
}

/// The `sort` parameter's schema: each sortable field, ascending or with `-` descending.
pub fn sort_schema(names: impl Iterator<Item = &'static str>) -> Object {
    let values: Vec<String> = names.flat_map(|name| [name.to_string(), format!("-{name}")]).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(
            "The field to sort by, `-` in front for descending (default `id`); ties are broken by id in \
             the same direction, nulls sort last",
        ))
        .build()
}

/// A REST list request: `parser` holds the collection's own filters'
/// problems and `filter` their values; this adds the page, `sort`, `q`,
/// the creation range and `count`, and checks them all together.
///
/// # Errors
/// `Validation` naming every bad parameter.
pub fn list_request<C>(
    mut parser: Parser,
    spec: &Spec<C>,
    page: &PageParams,
    search: &SearchParams,
    sort: Option<&str>,
    filter: Filter,
) -> Result<ListRequest, AppError> {
    let limit = parser.limit_text("limit", page.limit.as_deref());
    let sort = parser.sort_text(spec, sort);
    let filter = Filter {
        q: parser.q(search.q.clone()),
        created_after: parser.time_text("created_after", search.created_after.as_deref()),
        created_before: parser.time_text("created_before", search.created_before.as_deref()),
        ..filter
    };
    let count = parser.bool_text("count", search.count.as_deref());
    let page = PageArgs { limit, cursor: page.cursor.as_deref(), cursor_field: "cursor", backward: None };
    parser.finish(spec, sort, filter, page, count)
}

/// Parses an integer filter such as `?store_id=`.
///
/// # Errors
/// `Validation` on that parameter when it is not an integer.
pub fn id_filter(name: &str, value: Option<&str>) -> Result<Option<i32>, AppError> {
    value.map(|v| v.parse::<i32>().map_err(|_| AppError::field(name, "must be an integer id"))).transpose()
}
