//! Users: sign-up, login, the current user, and admin grants.

use chrono::Utc;
use entity::user;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
};
use std::sync::LazyLock;
use validator::Validate;

use std::net::IpAddr;

use crate::auth::tokens::{Claims, Grant, IssuedToken, TokenKind};
use crate::auth::{Role, Viewer, password, viewer};
use crate::domain::constraints::{self, Unique};
use crate::domain::error::AppError;
use crate::domain::input::FieldErrors;
use crate::domain::permissions::{require_fresh, require_user};
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
        token_generation: Set(0),
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
    // A new session (refresh-token family), under the generation read with
    // the password: a "log out everywhere" racing this login ends it too.
    let grant = Grant::new_session(user.id, Role::names_for(user.is_admin), user.token_generation);
    issue_pair(state, &grant, true)
}

/// An access token and a refresh token of one session.
fn issue_pair(state: &AppState, grant: &Grant, fresh: bool) -> Result<Session, AppError> {
    let tokens = &state.tokens;
    let access = tokens.issue(grant, TokenKind::Access, fresh)?;
    let refresh = tokens.issue(grant, TokenKind::Refresh, false)?;
    Ok(Session { access, refresh, expires_in: tokens.access_ttl.as_secs() })
}

/// Rotates a refresh token: spends it and answers a new access token (not
/// fresh: actions that need a fresh token need a login) and the refresh
/// token that succeeds it, in the same session (family).
///
/// A refresh token is good for one use. One presented again (or after it
/// was revoked) means a copy leaked: the whole session is revoked, the
/// newest refresh token and every access token minted in it included.
/// Of concurrent refreshes with one token, one wins and the others count
/// as reuse.
///
/// # Errors
/// `Unauthenticated` for anything but a valid, unspent, unrevoked refresh
/// token of an existing user of its current generation;
/// `ServiceUnavailable` when the blocklist cannot be read.
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<Session, AppError> {
    let claims = state.tokens.verify(refresh_token, TokenKind::Refresh)?;
    let user_id = viewer::subject(&claims)?;
    let session = state.blocklist.check_session(&state.db, claims.jti, claims.family(), user_id).await?;
    if session.revoked {
        return Err(revoke_reused_session(state, &claims).await);
    }
    viewer::refuse_unless_live(&claims, session)?;
    // The spend is the one atomic step: checks above may pass for two
    // concurrent requests with one token, only one of them spends it.
    let spent_until = timestamp(claims.exp.saturating_add(VERIFY_LEEWAY));
    if !state.blocklist.spend(claims.jti, spent_until).await? {
        return Err(revoke_reused_session(state, &claims).await);
    }
    // Roles come from the database, so a grant takes effect at the next refresh.
    let user = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::invalid_token("the token's user no longer exists"))?;
    // The generation of the token spent, not the user's current one: a
    // "log out everywhere" since the check above must end this session too.
    let grant = Grant {
        user_id,
        roles: Role::names_for(user.is_admin),
        family: claims.family(),
        generation: claims.generation,
    };
    issue_pair(state, &grant, false)
}

/// Seconds tokens are still accepted after their `exp` (a spent token's
/// record must outlive that).
const VERIFY_LEEWAY: i64 = crate::auth::tokens::LEEWAY_SECS as i64 + 1;

/// Revokes the session of a refresh token presented again, and answers
/// the 401 for it. The session's tokens expire at most a token lifetime
/// from now, so its record is kept that long.
async fn revoke_reused_session(state: &AppState, claims: &Claims) -> AppError {
    let tokens = &state.tokens;
    let lifetime = tokens.refresh_ttl.max(tokens.access_ttl).as_secs();
    let lifetime = i64::try_from(lifetime).unwrap_or(i64::MAX).saturating_add(VERIFY_LEEWAY);
    let until = timestamp(Utc::now().timestamp().saturating_add(lifetime));
    if let Err(error) = state.blocklist.revoke(claims.family(), until).await {
        // The token is refused either way; the session could not be.
        return error;
    }
    tracing::warn!(user_id = %claims.sub, "a spent refresh token was presented again; its session is revoked");
    AppError::invalid_token(
        "this refresh token was already used or revoked; its session is revoked now: log in again",
    )
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
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

/// Logs the caller out everywhere: every access and refresh token issued
/// to them until now is refused, on every instance, without listing them
/// (their generation is raised). A later login works.
///
/// # Errors
/// `Unauthenticated` for anonymous callers (or a user deleted meanwhile).
pub async fn logout_all(state: &AppState, viewer: Option<&Viewer>) -> Result<(), AppError> {
    let viewer = require_user(viewer)?;
    end_sessions(&state.db, viewer.user_id, None).await
}

/// A password change: the current password, and the new one.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 8 characters.
    pub new_password: String,
}

/// Changes the caller's password and ends every earlier session, as
/// [`logout_all`] does (the caller logs in again with the new password).
///
/// The check of the current password is a login attempt for the
/// throttle: counted for the caller's email and address before the hash
/// is compared, given back when it is right.
///
/// # Errors
/// `Unauthenticated` / `FreshTokenRequired` without a fresh token;
/// `RateLimited` while the email or address is at its limit; `Validation`
/// naming `current_password` (wrong) and `new_password` (too short).
pub async fn change_password(
    state: &AppState,
    viewer: Option<&Viewer>,
    client: Option<IpAddr>,
    input: PasswordChange,
) -> Result<(), AppError> {
    let viewer = require_fresh(viewer)?;
    let db = &state.db;
    let user = user::Entity::find_by_id(viewer.user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::invalid_token("the token's user no longer exists"))?;
    let too_short = (PasswordRule { password: &input.new_password }).validate().is_err();
    let email = throttle::normalized_email(&user.email);
    let reservation = state.throttle.reserve_login(email.as_deref(), client).await?;
    let checked = password::verify(input.current_password, Some(user.password_hash)).await;
    if !matches!(checked, Ok(false)) {
        // Right password, or never checked (hashing failed).
        state.throttle.release(reservation).await;
    }
    let mut errors = FieldErrors::default();
    if !checked? {
        errors.push("current_password", "is not the current password");
    }
    if too_short {
        errors.push("new_password", "must be at least 8 characters");
    }
    errors.into_result()?;
    let password_hash = password::hash(input.new_password).await?;
    end_sessions(db, user.id, Some(password_hash)).await
}

/// Raises a user's token generation (and sets a new password hash, if
/// given) in one statement.
async fn end_sessions(
    db: &DatabaseConnection,
    user_id: i32,
    password_hash: Option<String>,
) -> Result<(), AppError> {
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::TokenGeneration, Expr::col(user::Column::TokenGeneration).add(1))
        .filter(user::Column::Id.eq(user_id));
    if let Some(hash) = password_hash {
        update = update.col_expr(user::Column::PasswordHash, Expr::value(hash));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(AppError::invalid_token("the token's user no longer exists"));
    }
    Ok(())
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

/// A user's current token generation, `None` if the user no longer exists
/// (tokens of deleted users, and of earlier generations, are refused).
///
/// # Errors
/// Database errors.
pub async fn token_generation(db: &DatabaseConnection, id: i32) -> Result<Option<i32>, AppError> {
    static BY_ID: LazyLock<CachedStatement> = LazyLock::new(|| {
        CachedStatement::new(&user::Entity::find_by_id(0).select_only().column(user::Column::TokenGeneration))
    });
    let row = BY_ID.row(db, vec![id.into()]).await?;
    Ok(row.map(|row| row.try_get("", "token_generation")).transpose()?)
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
