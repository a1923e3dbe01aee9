//! Relay connections over the domain's keyset pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};

use crate::domain::Page;
use crate::domain::error::AppError;
use crate::domain::pagination::{GRAPHQL_PARAMS, PageRequest, encode_cursor};

pub type Relay<T> = Connection<String, T>;

/// Parses `first`/`after` with the same rules and messages as REST.
///
/// # Errors
/// `BAD_USER_INPUT` naming `first` or `after`.
pub fn page_request(first: Option<i32>, after: Option<String>) -> Result<PageRequest, AppError> {
    PageRequest::new(first.map(i64::from), after.as_deref(), GRAPHQL_PARAMS)
}

pub fn relay<M, T: OutputType>(
    request: PageRequest,
    page: Page<M>,
    id_of: impl Fn(&M) -> i32,
    mut node: impl FnMut(M) -> T,
) -> Relay<T> {
    let mut connection = Connection::new(request.after.is_some(), page.has_next);
    connection
        .edges
        .extend(page.rows.into_iter().map(|row| Edge::new(encode_cursor(id_of(&row)), node(row))));
    connection
}

/// A connection costs its page size times what each node selects
/// (`super::cost`); `pageInfo` is counted per node too, which only
/// overestimates.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let default = i32::try_from(crate::domain::pagination::DEFAULT_LIMIT).unwrap_or(20);
    super::cost::bounded_list(first, default, child_complexity)
}

/// A plain list (`Store.items`, `Factory.products`) costs its `first`
/// times what each element selects.
pub fn plain_list_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    super::cost::bounded_list(first, super::cost::PLAIN_LIST_MAX, child_complexity)
}

/// How many elements a plain list may show: `first` (100 when null),
/// checked with the same rule and message as a connection's `first`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `first` outside 1–100.
pub fn plain_list_bound(first: Option<i32>) -> Result<usize, AppError> {
    let first = first.unwrap_or(super::cost::PLAIN_LIST_MAX);
    let request = PageRequest::new(Some(i64::from(first)), None, GRAPHQL_PARAMS)?;
    Ok(usize::try_from(request.limit).unwrap_or(usize::MAX))
}
