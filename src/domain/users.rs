//! Users: sign-up, login, the current user, and admin grants.

use chrono::Utc;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
};
use std::sync::LazyLock;
use validator::Validate;

use std::net::IpAddr;

use crate::auth::tokens::{IssuedToken, TokenKind};
use crate::auth::{Role, Viewer, password};
use crate::domain::constraints::{self, Unique};
use crate::domain::error::AppError;
use crate::domain::input::FieldErrors;
use crate::domain::permissions::require_user;
use crate::domain::statements::CachedStatement;
use crate::domain::throttle;
use crate::state::AppState;

/// An email and a password: sign-up and login take the same body.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Trimmed and lower-cased; sign-up requires an email address.
    pub email: String,
    /// Sign-up requires at least 8 characters.
    pub password: String,
}

#[derive(Validate)]
struct PasswordRule<'a> {
    #[validate(length(min = 8, message = "must be at least 8 characters"))]
    password: &'a str,
}

/// A user as clients see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i32,
    pub email: String,
    pub roles: Vec<String>,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self {
            id: model.id,
            email: model.email,
            roles: Role::names_for(model.is_admin),
            created_at: model.created_at,
        }
    }
}

/// The tokens a login hands out.
pub struct Session {
    pub access: IssuedToken,
    pub refresh: IssuedToken,
    pub expires_in: u64,
}

fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// # Errors
/// `Validation` for a bad email or short password; `RateLimited` once the
/// client's address has used its hourly sign-ups; `Conflict` if the email
/// is taken.
pub async fn signup(state: &AppState, client: Option<IpAddr>, input: Credentials) -> Result<User, AppError> {
    // The same rules as the login throttle's keys (trimmed, lower-cased,
    // an address of at most 254 bytes), so every account can log in.
    let mut errors = FieldErrors::default();
    let email = throttle::normalized_email(&input.email).unwrap_or_else(|| {
        errors.push("email", "must be an email address");
        String::new()
    });
    errors.extend_validation(PasswordRule { password: &input.password }.validate());
    errors.into_result()?;
    // Counted once the input is valid, before the lookup and the hash: a
    // taken email costs an attempt too, so sign-up cannot probe for
    // accounts without limit.
    state.throttle.reserve_signup(client).await?;

    let db = &state.db;
    if find_by_email(db, &email).await?.is_some() {
        return Err(email_taken());
    }
    let password_hash = password::hash(input.password).await?;
    let created = user::ActiveModel {
        email: Set(email),
        password_hash: Set(password_hash),
        is_admin: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| match constraints::violated(&e) {
        // Two sign-ups raced past the check above.
        Some(Unique::UserEmail) => email_taken(),
        _ => e.into(),
    })?;
    Ok(created.into())
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated { message: "invalid email or password".into(), token_refused: false }
}

/// The user whose password `password` is, or `None` (unknown email or
/// wrong password: the same work either way).
async fn check_password(
    db: &DatabaseConnection,
    email: &str,
    password: String,
) -> Result<Option<user::Model>, AppError> {
    let found = find_by_email(db, email).await?;
    let phc = found.as_ref().map(|u| u.password_hash.clone());
    Ok(if password::verify(password, phc).await? { found } else { None })
}

fn email_taken() -> AppError {
    AppError::Conflict("an account with this email already exists".into())
}

/// Checks credentials and issues a fresh access token and a refresh token.
///
/// The attempt is counted (for the email and the client address) before
/// the password is checked, and given back if it is right; see
/// [`throttle`](crate::domain::throttle).
///
/// # Errors
/// `RateLimited` while the email or the client address is at its limit
/// (nothing is checked then); `Unauthenticated` with one message for an
/// unknown email, a wrong password and an email that is no address alike;
/// `ServiceUnavailable` when the counters' Redis is away.
pub async fn login(
    state: &AppState,
    client: Option<IpAddr>,
    input: Credentials,
) -> Result<Session, AppError> {
    let email = throttle::normalized_email(&input.email);
    let reservation = state.throttle.reserve_login(email.as_deref(), client).await?;
    // No account has an email that is no address (sign-up checks the same
    // rules), so there is nothing to hash; the client's address still paid.
    let Some(email) = email else { return Err(invalid_credentials()) };
    let checked = check_password(&state.db, &email, input.password).await;
    if !matches!(checked, Ok(None)) {
        // Right password, or never checked (the database failed).
        state.throttle.release(reservation).await;
    }
    let user = checked?.ok_or_else(invalid_credentials)?;
    let tokens = &state.tokens;
    let roles = Role::names_for(user.is_admin);
    let access = tokens.issue(user.id, roles.clone(), TokenKind::Access, true)?;
    let refresh = tokens.issue(user.id, roles, TokenKind::Refresh, false)?;
    Ok(Session { access, refresh, expires_in: tokens.access_ttl.as_secs() })
}

/// A new access token for a refresh token. The access token is not fresh:
/// actions that need a fresh token need a login.
///
/// # Errors
/// `Unauthenticated` for anything but a valid, unrevoked refresh token of
/// an existing user.
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<(IssuedToken, u64), AppError> {
    let claims = state.tokens.verify(refresh_token, TokenKind::Refresh)?;
    let viewer = crate::auth::viewer::verified_viewer(state, &claims).await?;
    // Roles come from the database, so a grant takes effect at the next refresh.
    let user = user::Entity::find_by_id(viewer.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::invalid_token("the token's user no longer exists"))?;
    let access = state.tokens.issue(user.id, Role::names_for(user.is_admin), TokenKind::Access, false)?;
    Ok((access, state.tokens.access_ttl.as_secs()))
}

/// Revokes the caller's access token and, if given, their refresh token,
/// each until it would have expired.
///
/// # Errors
/// `Unauthenticated` for anonymous callers; `Validation` on `refresh_token`
/// when it is not a valid refresh token of the caller.
pub async fn logout(
    state: &AppState,
    viewer: Option<&Viewer>,
    refresh_token: Option<&str>,
) -> Result<(), AppError> {
    let viewer = require_user(viewer)?;
    let refresh = match refresh_token {
        None => None,
        Some(token) => {
            let claims = state
                .tokens
                .verify(token, TokenKind::Refresh)
                .map_err(|_| AppError::field("refresh_token", "is not a valid refresh token"))?;
            if claims.sub != viewer.user_id.to_string() {
                return Err(AppError::field("refresh_token", "belongs to another user"));
            }
            Some(claims)
        }
    };
    state.blocklist.revoke(viewer.token_id, timestamp(viewer.expires_at)).await?;
    if let Some(claims) = refresh {
        state.blocklist.revoke(claims.jti, timestamp(claims.exp)).await?;
    }
    Ok(())
}

fn timestamp(seconds: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
}

/// The signed-in user.
///
/// # Errors
/// `Unauthenticated` for anonymous callers.
pub async fn me(state: &AppState, viewer: Option<&Viewer>) -> Result<User, AppError> {
    let db = &state.db;
    let viewer = require_user(viewer)?;
    user::Entity::find_by_id(viewer.user_id)
        .one(db)
        .await?
        .map(User::from)
        .ok_or_else(|| AppError::invalid_token("the token's user no longer exists"))
}

/// Whether a user id still exists (tokens of deleted users are refused).
///
/// # Errors
/// Database errors.
pub async fn exists(db: &DatabaseConnection, id: i32) -> Result<bool, AppError> {
    static BY_ID: LazyLock<CachedStatement> = LazyLock::new(|| {
        CachedStatement::new(&user::Entity::find_by_id(0).select_only().column(user::Column::Id))
    });
    Ok(BY_ID.exists(db, vec![id.into()]).await?)
}

/// Gives a user the `admin` role (CLI: `storegate user grant-admin EMAIL`).
/// Takes effect on the user's next login.
///
/// # Errors
/// `NotFound` when no user has that email.
pub async fn grant_admin(db: &DatabaseConnection, email: &str) -> Result<User, AppError> {
    let email = normalize_email(email);
    let found = find_by_email(db, &email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user with email {email}")))?;
    let mut active: user::ActiveModel = found.into();
    active.is_admin = Set(true);
    Ok(active.update(db).await?.into())
}

async fn find_by_email(db: &DatabaseConnection, email: &str) -> Result<Option<user::Model>, AppError> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?)
}
