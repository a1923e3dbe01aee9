//! What resolvers read from the request context: the shared state, the
//! caller, and small conversions between GraphQL and domain types.

use async_graphql::{Context, ID, MaybeUndefined};

use crate::auth::Viewer;
use crate::domain::Patch;
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

pub fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Absent,
        MaybeUndefined::Null => Patch::Null,
        MaybeUndefined::Value(v) => Patch::Value(v),
    }
}

/// An id reference in an input (`storeId`): an id that cannot exist becomes
/// -1, which the domain reports as "no store with this id" on that field
/// together with every other field error.
pub fn patch_id(value: MaybeUndefined<ID>) -> Patch<i32> {
    patch(value).map(|id| parse_id(&id).unwrap_or(-1))
}
