//! Response shapes shared by every REST resource: 201 with `Location`, and
//! collections with `next_cursor` and a `Link: rel="next"` header.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Page;
use crate::domain::pagination::PageRequest;
use crate::error::AppError;

/// `201 Created` with a `Location` header.
pub fn created<T: Serialize>(location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Serialize)]
struct Collection<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
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
    (headers, Json(Collection { data: page.rows, next_cursor })).into_response()
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
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageParams {
    pub limit: Option<String>,
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
