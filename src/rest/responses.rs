//! Response shapes shared by every REST resource: 201 with `Location`, 204
//! after a delete, and collections with `next_cursor` and a
//! `Link: rel="next"` header.

use crate::json::JsonResponse;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::domain::Page;
use crate::domain::error::AppError;
use crate::domain::pagination::PageRequest;

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
}

impl<T: ToSchema> PartialSchema for Collection<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "data",
                ArrayBuilder::new()
                    .items(RefOr::Ref(Ref::from_schema_name(T::name())))
                    .description(Some("At most `limit` rows, in ascending id order")),
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

/// A page as `{data, next_cursor}`, with `Link: <…>; rel="next"` keeping the
/// request's other parameters (page size, filters) and moving the cursor.
pub fn collection<T: Serialize>(uri: &Uri, page: Page<T>, next_cursor: Option<String>) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(cursor) = &next_cursor
        && let Some(link) = next_link(uri, cursor)
    {
        headers.insert(header::LINK, link);
    }
    (headers, JsonResponse(Collection { data: page.rows, next_cursor })).into_response()
}

fn next_link(uri: &Uri, cursor: &str) -> Option<HeaderValue> {
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    params.retain(|(key, _)| key != "cursor");
    params.push(("cursor".into(), cursor.into()));
    let query = serde_urlencoded::to_string(&params).ok()?;
    HeaderValue::from_str(&format!("<{}?{query}>; rel=\"next\"", uri.path())).ok()
}

/// The query parameters every collection takes, as text so that a bad
/// value becomes a 422 on that field rather than a generic 400.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1 to 100 (default 20); anything else is a 422 on `limit`.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page. Opaque: only cursors this
    /// server issued are accepted (anything else is a 422 on `cursor`).
    pub cursor: Option<String>,
}

impl PageParams {
    /// # Errors
    /// `Validation` for a bad `limit` or `cursor`.
    pub fn page(&self) -> Result<PageRequest, AppError> {
        PageRequest::from_text(
            self.limit.as_deref(),
            self.cursor.as_deref(),
            crate::domain::pagination::REST_PARAMS,
        )
    }
}

/// Parses an integer filter such as `?store_id=`.
///
/// # Errors
/// `Validation` on that parameter when it is not an integer.
pub fn id_filter(name: &str, value: Option<&str>) -> Result<Option<i32>, AppError> {
    value.map(|v| v.parse::<i32>().map_err(|_| AppError::field(name, "must be an integer id"))).transpose()
}
