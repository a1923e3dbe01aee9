//! The permission table of docs/API.md §2, in one place.

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
