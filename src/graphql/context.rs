//! What resolvers read from the request context: the shared state, the
//! caller, and small conversions between GraphQL and domain types.

use async_graphql::{Context, ID, MaybeUndefined};

use crate::auth::Viewer;
use crate::domain::Patch;
use crate::domain::error::AppError;
use crate::state::AppState;

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The caller, as the HTTP handler authenticated it (`None`: anonymous).
pub fn viewer<'a>(ctx: &Context<'a>) -> Option<&'a Viewer> {
    ctx.data_opt::<Option<Viewer>>().and_then(Option::as_ref)
}

/// GraphQL ids are the REST integer ids as strings; anything else names
/// no row.
pub fn parse_id(id: &ID) -> Option<i32> {
    id.parse::<i32>().ok().and_then(|id| (id >= 0).then_some(id))
}

/// The id of the row a mutation acts on: an id that cannot exist is
/// `NOT_FOUND`, like one that names no row.
///
/// # Errors
/// `NotFound` ("no {what} with id {id}") when `id` is not a row id.
pub fn row_id(id: &ID, what: &str) -> Result<i32, AppError> {
    parse_id(id).ok_or_else(|| AppError::not_found(what, id.as_str()))
}

/// A query for one row: an id that names no row (malformed, missing, or
/// hidden from the caller) answers `null`, not an error.
///
/// # Errors
/// Whatever `load` fails with, except `NotFound`.
pub async fn row_or_null<T, F>(id: &ID, load: impl FnOnce(i32) -> F) -> async_graphql::Result<Option<T>>
where
    F: Future<Output = Result<T, AppError>>,
{
    let Some(id) = parse_id(id) else { return Ok(None) };
    match load(id).await {
        Ok(found) => Ok(Some(found)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// An id that refers to another row (`storeId`) or filters by one: an id
/// that cannot exist becomes -1, which names no row, so a filter finds
/// nothing and the domain reports "no store with this id" on that field
/// together with every other field error.
pub fn reference_id(id: &ID) -> i32 {
    parse_id(id).unwrap_or(-1)
}

pub fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Absent,
        MaybeUndefined::Null => Patch::Null,
        MaybeUndefined::Value(v) => Patch::Value(v),
    }
}

/// An id reference in an input, as [`reference_id`] reads it.
pub fn patch_id(value: MaybeUndefined<ID>) -> Patch<i32> {
    patch(value).map(|id| reference_id(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANNOT_EXIST: [&str; 5] = ["abc", "-1", "1.5", "2147483648", ""];

    #[test]
    fn an_id_that_cannot_exist_is_not_found_or_minus_one() {
        for text in CANNOT_EXIST {
            let id = ID::from(text);
            assert_eq!(parse_id(&id), None, "{text:?}");
            assert_eq!(reference_id(&id), -1, "{text:?}");
            let error = row_id(&id, "store").unwrap_err();
            assert!(
                matches!(&error, AppError::NotFound(m) if *m == format!("no store with id {text}")),
                "{text:?}"
            );
        }
        assert_eq!(row_id(&ID::from("42"), "store").unwrap(), 42);
        assert_eq!(reference_id(&ID::from("0")), 0);
    }

    #[tokio::test]
    async fn a_single_row_query_answers_null_only_for_a_row_that_is_not_there() {
        for text in CANNOT_EXIST {
            let never = |_| async { unreachable!("an id that cannot exist is never looked up") };
            assert!(row_or_null::<i32, _>(&ID::from(text), never).await.unwrap().is_none());
        }
        let seven = ID::from("7");
        let found = row_or_null(&seven, |id| async move { Ok(id * 2) }).await.unwrap();
        assert_eq!(found, Some(14));
        let missing = row_or_null::<i32, _>(&seven, |_| async { Err(AppError::not_found("store", 7)) });
        assert!(missing.await.unwrap().is_none());
        let refused = row_or_null::<i32, _>(&seven, |_| async { Err(AppError::Forbidden("no".into())) });
        assert!(refused.await.is_err(), "other errors are not hidden as null");
    }
}
