//! Keyset pagination shared by every collection on both faces.
//!
//! A cursor is the id of the last row a page returned, wrapped so clients
//! treat it as opaque. Pages are `WHERE id > cursor ORDER BY id LIMIT n+1`:
//! page 500 costs what page 1 costs, and rows inserted or deleted during a
//! walk never make it skip or repeat a row.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::domain::error::AppError;
use crate::domain::input::FieldErrors;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;
const CURSOR_PREFIX: &str = "sg1:";

/// The names the page parameters have on a face: `limit`/`cursor` in REST,
/// `first`/`after` in GraphQL, so errors point at what the client sent.
#[derive(Debug, Clone, Copy)]
pub struct ParamNames {
    pub limit: &'static str,
    pub cursor: &'static str,
}

pub const REST_PARAMS: ParamNames = ParamNames { limit: "limit", cursor: "cursor" };
pub const GRAPHQL_PARAMS: ParamNames = ParamNames { limit: "first", cursor: "after" };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<i32>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, after: None }
    }
}

impl PageRequest {
    /// From query-string text (REST), where `limit=abc` is possible.
    ///
    /// # Errors
    /// `Validation` naming each bad parameter.
    pub fn from_text(limit: Option<&str>, cursor: Option<&str>, names: ParamNames) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let limit = match limit.map(str::parse::<i64>) {
            None => Some(DEFAULT_LIMIT as i64),
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => {
                errors.push(names.limit, limit_message());
                None
            }
        };
        Self::checked(limit, cursor, names, errors)
    }

    /// From typed arguments (GraphQL `first`/`after`).
    ///
    /// # Errors
    /// `Validation` naming each bad argument.
    pub fn new(limit: Option<i64>, cursor: Option<&str>, names: ParamNames) -> Result<Self, AppError> {
        Self::checked(Some(limit.unwrap_or(DEFAULT_LIMIT as i64)), cursor, names, FieldErrors::default())
    }

    fn checked(
        limit: Option<i64>,
        cursor: Option<&str>,
        names: ParamNames,
        mut errors: FieldErrors,
    ) -> Result<Self, AppError> {
        let limit = match limit {
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(_) => {
                errors.push(names.limit, limit_message());
                DEFAULT_LIMIT
            }
            None => DEFAULT_LIMIT,
        };
        let after = match cursor {
            None => None,
            Some(text) => match decode_cursor(text) {
                Some(id) => Some(id),
                None => {
                    errors.push(names.cursor, "is not a cursor issued by this server");
                    None
                }
            },
        };
        errors.into_result()?;
        Ok(Self { limit, after })
    }

    /// Restricts `select` to this page: rows after the cursor, by id,
    /// one more than the limit so the caller learns whether more follow.
    pub fn apply<E: EntityTrait>(self, select: Select<E>, id: impl ColumnTrait) -> Select<E> {
        let select = match self.after {
            Some(after) => select.filter(id.gt(after)),
            None => select,
        };
        select.order_by_asc(id).limit(self.limit + 1)
    }
}

fn limit_message() -> String {
    format!("must be an integer from 1 to {MAX_LIMIT}")
}

/// One page of rows, in ascending id order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// Builds a page from the `limit + 1` rows [`PageRequest::apply`] fetched.
    pub fn from_overfetch(mut rows: Vec<T>, request: PageRequest) -> Self {
        let has_next = rows.len() as u64 > request.limit;
        rows.truncate(request.limit as usize);
        Self { rows, has_next }
    }

    /// The cursor of the next page, if there is one.
    pub fn next_cursor(&self, id_of: impl Fn(&T) -> i32) -> Option<String> {
        if !self.has_next {
            return None;
        }
        self.rows.last().map(|row| encode_cursor(id_of(row)))
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { rows: self.rows.into_iter().map(f).collect(), has_next: self.has_next }
    }
}

pub fn encode_cursor(id: i32) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i32> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let id: i32 = text.strip_prefix(CURSOR_PREFIX)?.parse().ok()?;
    (id >= 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        for garbage in
            ["", "42", "not-base64!", &URL_SAFE_NO_PAD.encode("sg1:-1"), &URL_SAFE_NO_PAD.encode("x:1")]
        {
            assert_eq!(decode_cursor(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn limits_outside_the_range_are_field_errors() {
        assert_eq!(PageRequest::from_text(None, None, REST_PARAMS).unwrap(), PageRequest::default());
        for bad in ["0", "101", "abc", "1.5", "-3"] {
            let Err(AppError::Validation(errors)) = PageRequest::from_text(Some(bad), None, REST_PARAMS)
            else {
                panic!("{bad} accepted");
            };
            assert_eq!(errors[0].field, "limit");
        }
        let Err(AppError::Validation(errors)) = PageRequest::new(Some(0), Some("zzz"), GRAPHQL_PARAMS) else {
            panic!("accepted");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["after", "first"]);
    }
}
