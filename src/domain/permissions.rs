//! The permission table of docs/API.md §2, in one place: who may act at
//! all; the resource modules apply [`require_owner`] to the rows they change.

use crate::auth::Viewer;
use crate::domain::error::AppError;

/// Any signed-in user.
///
/// # Errors
/// `Unauthenticated` for anonymous callers.
pub fn require_user(viewer: Option<&Viewer>) -> Result<&Viewer, AppError> {
    viewer.ok_or_else(AppError::login_required)
}

/// A signed-in user holding a fresh token (one issued by a login, not a
/// refresh): required to create or update items and products, admins too.
///
/// # Errors
/// `Unauthenticated` for anonymous callers, `FreshTokenRequired` otherwise.
pub fn require_fresh(viewer: Option<&Viewer>) -> Result<&Viewer, AppError> {
    let viewer = require_user(viewer)?;
    if viewer.fresh { Ok(viewer) } else { Err(AppError::FreshTokenRequired) }
}

/// An admin.
///
/// # Errors
/// `Unauthenticated` for anonymous callers, `Forbidden` for other users.
pub fn require_admin(viewer: Option<&Viewer>) -> Result<&Viewer, AppError> {
    let viewer = require_user(viewer)?;
    if viewer.is_admin() {
        Ok(viewer)
    } else {
        Err(AppError::Forbidden("this action is reserved for admins".into()))
    }
}

/// The owner of a row, or an admin: who may change a store or a product,
/// and the items of a store. A row without an owner (made before
/// ownership existed, or whose owner was deleted) is an admin's alone.
///
/// # Errors
/// `Forbidden` for anyone else, naming `what` ("store 3").
pub fn require_owner(viewer: &Viewer, owner_id: Option<i32>, what: &str) -> Result<(), AppError> {
    if viewer.is_admin() || owner_id == Some(viewer.user_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("only the owner of {what} or an admin may do this")))
    }
}
