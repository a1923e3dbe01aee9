//! The `Viewer`: who is calling, built once from verified claims by
//! [`authenticate`] and handed to the domain layer by both faces.

use axum::http::{HeaderMap, header};
use uuid::Uuid;

use super::tokens::{Claims, TokenKind};
use crate::domain::error::AppError;
use crate::domain::revocations::SessionCheck;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The `roles` claim of a user.
    pub fn names_for(is_admin: bool) -> Vec<String> {
        let mut roles = vec![Self::User.as_str().to_string()];
        if is_admin {
            roles.push(Self::Admin.as_str().to_string());
        }
        roles
    }
}

/// An authenticated caller. Anonymous callers are `Option::<Viewer>::None`.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: i32,
    pub roles: Vec<Role>,
    /// True only for access tokens issued by a login (not by a refresh).
    pub fresh: bool,
    pub token_id: Uuid,
    pub expires_at: i64,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    fn from_claims(claims: &Claims, user_id: i32) -> Self {
        let roles = claims
            .roles
            .iter()
            .filter_map(|r| match r.as_str() {
                "user" => Some(Role::User),
                "admin" => Some(Role::Admin),
                _ => None,
            })
            .collect();
        Self { user_id, roles, fresh: claims.fresh, token_id: claims.jti, expires_at: claims.exp }
    }
}

/// Extracts the bearer token of a request, if it presents one.
///
/// # Errors
/// `Unauthenticated` when an `Authorization` header is present but is not
/// a well-formed `Bearer` credential.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value =
        value.to_str().map_err(|_| AppError::invalid_token("the Authorization header is not valid text"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AppError::invalid_token("the Authorization header must be `Bearer <token>`"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AppError::invalid_token("the Authorization header must be `Bearer <token>`"));
    }
    Ok(Some(token))
}

/// The one place where a request's credentials become a `Viewer`. No header
/// means anonymous; a header that fails any check is a 401, never a silent
/// downgrade to anonymous.
///
/// # Errors
/// `Unauthenticated` for a refused token; database errors as usual.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, AppError> {
    let Some(token) = bearer_token(headers)? else {
        return Ok(None);
    };
    let claims = state.tokens.verify(token, TokenKind::Access)?;
    verified_viewer(state, &claims).await.map(Some)
}

/// Checks that apply after the signature: the token and its session must
/// not be revoked, its user must still exist, and the token must be of the
/// user's current generation (one statement with the database blocklist;
/// Redis and the database side by side otherwise).
///
/// # Errors
/// `Unauthenticated` for a revoked token or session, a deleted user or an
/// ended generation; `ServiceUnavailable` when the blocklist cannot be read
/// (fail closed).
pub async fn verified_viewer(state: &AppState, claims: &Claims) -> Result<Viewer, AppError> {
    let user_id = subject(claims)?;
    let session = state.blocklist.check_session(&state.db, claims.jti, claims.family(), user_id).await?;
    refuse_unless_live(claims, session)?;
    Ok(Viewer::from_claims(claims, user_id))
}

/// The user id of a token's `sub`.
///
/// # Errors
/// `Unauthenticated` when it is not one.
pub fn subject(claims: &Claims) -> Result<i32, AppError> {
    claims.sub.parse().map_err(|_| AppError::invalid_token("the token subject is invalid"))
}

/// Refuses a verified token whose [`SessionCheck`] says it is no longer
/// good.
///
/// # Errors
/// `Unauthenticated`, saying why.
pub fn refuse_unless_live(claims: &Claims, session: SessionCheck) -> Result<(), AppError> {
    if session.revoked {
        return Err(AppError::invalid_token("the token has been revoked"));
    }
    match session.user_generation {
        None => Err(AppError::invalid_token("the token's user no longer exists")),
        // Raised by "log out everywhere" and by password changes.
        Some(current) if claims.generation < current => Err(AppError::invalid_token(
            "the token's session has ended (logged out everywhere); log in again",
        )),
        Some(_) => Ok(()),
    }
}
