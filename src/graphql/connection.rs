//! Relay connections over the domain's keyset pages.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, Object, OutputType};

use super::scalars::DateTimeInput;
use crate::domain::error::AppError;
use crate::domain::listing::{Filter, ListPage, ListRequest, PageArgs as ListArgs, Parser, Spec};
use crate::domain::pagination::{GRAPHQL_PARAMS, PageRequest};

pub type Relay<T> = Connection<String, T, Counted>;

/// The connection's own fields besides edges, nodes and page info.
pub struct Counted(Option<u64>);

#[Object]
impl Counted {
    /// Rows matching the filters, ignoring the page. Counted (one `COUNT`
    /// statement) only when selected.
    async fn total_count(&self) -> async_graphql::Result<i32> {
        let count =
            self.0.ok_or_else(|| AppError::internal(anyhow::anyhow!("totalCount was not counted")))?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// `orderBy`'s direction.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// The page arguments of a connection: `first`/`after` forwards,
/// `last`/`before` backwards.
#[derive(Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// Checks a connection's arguments with the same rules and messages as
/// REST: `parser` already holds the filters' problems; `order` is the
/// sort's field name (as the domain names it) and direction.
///
/// # Errors
/// `BAD_USER_INPUT` naming every bad argument.
pub fn list_request<C>(
    ctx: &Context<'_>,
    mut parser: Parser,
    spec: &Spec<C>,
    order: Option<(&'static str, OrderDirection)>,
    filter: Filter,
    page: PageArgs,
) -> Result<ListRequest, AppError> {
    let sort =
        order.and_then(|(name, direction)| parser.sort_named(spec, name, direction == OrderDirection::Desc));
    let backward = page.last.is_some() || page.before.is_some();
    if backward {
        if page.first.is_some() {
            parser.error_raw("first", "cannot be combined with last or before");
        }
        if page.after.is_some() {
            parser.error_raw("after", "cannot be combined with last or before");
        }
    }
    let (limit, cursor, cursor_field) = if backward {
        (parser.limit("last", page.last.map(i64::from)), page.before, "before")
    } else {
        (parser.limit("first", page.first.map(i64::from)), page.after, "after")
    };
    let count = ctx.look_ahead().field("totalCount").exists();
    parser.finish(
        spec,
        sort,
        filter,
        ListArgs { limit, cursor: cursor.as_deref(), cursor_field, backward: Some(backward) },
        count,
    )
}

/// A Relay connection over a page of the domain's list.
pub fn relay<M, T: OutputType>(page: ListPage<M>, mut node: impl FnMut(M) -> T) -> Relay<T> {
    let mut connection =
        Connection::with_additional_fields(page.has_previous, page.has_next, Counted(page.total_count));
    connection
        .edges
        .extend(page.cursors.into_iter().zip(page.rows).map(|(cursor, row)| Edge::new(cursor, node(row))));
    connection
}

/// A connection costs its page size times what each node selects
/// (`super::cost`); `pageInfo` is counted per node too, which only
/// overestimates.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let default = i32::try_from(crate::domain::pagination::DEFAULT_LIMIT).unwrap_or(20);
    super::cost::bounded_list(first.or(last), default, child_complexity)
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

/// The filters every connection has (`q`, `createdAfter`, `createdBefore`).
pub fn common_filter(
    parser: &mut Parser,
    q: Option<String>,
    created_after: Option<DateTimeInput>,
    created_before: Option<DateTimeInput>,
) -> Filter {
    Filter {
        q: parser.q(q),
        created_after: parser.time("created_after", created_after.map(|t| t.0)),
        created_before: parser.time("created_before", created_before.map(|t| t.0)),
        ..Filter::default()
    }
}

/// Declares a connection's `XOrderField` enum and `XOrder` input, each
/// field mapped to the domain's name for it.
macro_rules! order_by {
    ($field:ident, $order:ident, { $($variant:ident => $name:literal),+ $(,)? }) => {
        /// The fields this list can be sorted by (ties broken by id).
        #[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug)]
        pub enum $field {
            $($variant),+
        }

        impl $field {
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        /// A sort: a field and a direction (ascending unless told).
        #[derive(async_graphql::InputObject)]
        pub struct $order {
            pub field: $field,
            #[graphql(default)]
            pub direction: $crate::graphql::connection::OrderDirection,
        }

        impl $order {
            pub fn pair(&self) -> (&'static str, $crate::graphql::connection::OrderDirection) {
                (self.field.name(), self.direction)
            }
        }
    };
}
pub(crate) use order_by;
