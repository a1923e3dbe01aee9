//! Relay connections over the domain's keyset pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};

use crate::domain::Page;
use crate::domain::pagination::{GRAPHQL_PARAMS, PageRequest, encode_cursor};
use crate::error::AppError;

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

/// A connection costs its page size times what each node selects.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first.unwrap_or(crate::domain::pagination::DEFAULT_LIMIT as i32).clamp(1, 100);
    usize::try_from(page).unwrap_or(100) * child_complexity.max(1) + 1
}
