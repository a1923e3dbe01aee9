//! `/api/auth`: sign-up, login, token refresh, logout (here or everywhere),
//! password changes and the current user.

use crate::json::JsonResponse;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Required};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Caller, JsonBody};
use super::inputs::{Credentials, PasswordChange};
use super::responses::created;
use crate::auth::viewer::bearer_token;
use crate::domain::error::AppError;
use crate::domain::time;
use crate::domain::users::{self, User};
use crate::http::ClientAddr;
use crate::http::problem::HttpError;
use crate::openapi::{BodyErrors, CommonErrors, Conflict, TooManyRequests};
use crate::state::AppState;

/// Routes that take the caller's access token (checked by the REST
/// authentication layer).
pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(change_password))
        .routes(routes!(me));
    // `#[utoipa::path]` marks every request body required (or nullable, for
    // an `Option`); logout's may be left out altogether.
    if let Some(RefOr::T(body)) = router
        .get_openapi_mut()
        .paths
        .paths
        .get_mut("/logout")
        .and_then(|item| item.post.as_mut())
        .and_then(|operation| operation.request_body.as_mut())
    {
        body.required = Some(Required::False);
    }
    router
}

/// `/api/auth/refresh` presents a *refresh* token as its bearer, so it sits
/// outside the layer that insists on access tokens and checks its own.
pub fn refresh_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refresh))
}

/// A user account (never its password).
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserBody {
    #[schema(schema_with = crate::openapi::id)]
    id: i32,
    /// Lower-cased.
    #[schema(format = Email, example = "ada@example.com")]
    email: String,
    /// `["user"]`, or `["user", "admin"]` for admins.
    #[schema(value_type = Vec<RoleName>, example = json!(["user"]))]
    roles: Vec<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(schema_with = crate::openapi::timestamp)]
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self { id: user.id, email: user.email, roles: user.roles, created_at: user.created_at }
    }
}

/// A role's name.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the strings of `UserBody::roles`.
#[schema(as = Role, rename_all = "lowercase")]
enum RoleName {
    User,
    Admin,
}

/// The tokens a login or a refresh hands out.
#[derive(Serialize, ToSchema)]
#[schema(as = Tokens)]
struct TokenBody {
    /// An access token (JWT, HS256): send it as `Authorization: Bearer <token>`. Fresh when
    /// issued by a login, not when issued by a refresh.
    #[schema(example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...")]
    access_token: String,
    /// A refresh token (JWT), good for one use: `POST /api/auth/refresh` spends it for a new
    /// access token and the refresh token that succeeds it.
    #[schema(example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...")]
    refresh_token: String,
    #[schema(value_type = TokenType)]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(minimum = 0, example = 900)]
    expires_in: u64,
}

/// Always `Bearer`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the constant `token_type`.
enum TokenType {
    Bearer,
}

/// Sign up
///
/// Creates an account with the `user` role. The email is trimmed and lower-cased; the
/// password must have at least 8 characters. The account is read back with
/// `GET /api/auth/me` (the `Location`) once logged in. Sign-ups are limited per client
/// address (`SIGNUP_MAX_PER_ADDRESS` an hour; 429 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/signup",
    tag = "auth",
    operation_id = "signup",
    request_body = Credentials,
    responses(
        (status = 201, description = "The new account", body = UserBody,
            headers(("Location" = String, description = "`/api/auth/me`"))),
        (status = 409, response = Conflict),
        (status = 429, response = TooManyRequests),
        CommonErrors, BodyErrors,
    ),
)]
async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(input): JsonBody<Credentials>,
) -> Result<Response, AppError> {
    let user = users::signup(&state, client, input.into()).await?;
    // The account is read back through /api/auth/me with its token.
    Ok(created("/api/auth/me".into(), UserBody::from(user)))
}

/// Log in
///
/// Trades an email and password for a fresh access token and a refresh token. An unknown
/// email and a wrong password get the same 401. Failed attempts are throttled per email and
/// per client address (429 with `Retry-After`); an attempt counts before its password is
/// checked, and a successful one is not counted.
#[utoipa::path(
    post,
    path = "/login",
    tag = "auth",
    operation_id = "login",
    request_body = Credentials,
    responses(
        (status = 200, description = "The tokens", body = TokenBody),
        (status = 429, response = TooManyRequests),
        CommonErrors, BodyErrors,
    ),
)]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(input): JsonBody<Credentials>,
) -> Result<Response, AppError> {
    let session = users::login(&state, client, input.into()).await?;
    Ok(JsonResponse(TokenBody::from(session)).into_response())
}

impl From<users::Session> for TokenBody {
    fn from(session: users::Session) -> Self {
        Self {
            access_token: session.access.token,
            refresh_token: session.refresh.token,
            token_type: "Bearer",
            expires_in: session.expires_in,
        }
    }
}

/// Refresh the tokens
///
/// Send a *refresh* token as the bearer (`Authorization: Bearer <refresh token>`). It is
/// spent: the answer is a new access token (not fresh) and the refresh token to use next
/// time. A refresh token presented a second time means a copy leaked: 401, and its whole
/// session (every refresh token descended from that login and the access tokens minted from
/// them) is revoked. Roles are read anew, so an admin grant takes effect here.
#[utoipa::path(
    post,
    path = "/refresh",
    tag = "auth",
    operation_id = "refresh",
    security(("refreshToken" = [])),
    responses(
        (status = 200, description = "A new access token and the next refresh token", body = TokenBody),
        CommonErrors,
    ),
)]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<JsonResponse<TokenBody>, AppError> {
    let token = bearer_token(&headers)?.ok_or_else(|| AppError::Unauthenticated {
        message: "send the refresh token as `Authorization: Bearer <refresh token>`".into(),
        token_refused: false,
    })?;
    Ok(JsonResponse(users::refresh(&state, token).await?.into()))
}

/// What logout may also revoke.
#[derive(Default, Deserialize, ToSchema)]
struct LogoutBody {
    /// The caller's refresh token, to revoke as well (anything else is a 422 on this field).
    #[schema(example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...")]
    refresh_token: Option<String>,
}

/// Log out
///
/// Revokes the access token presented (until it would have expired) and, when the optional
/// body names it, the caller's refresh token too. Send no body (and no `Content-Type`) to
/// revoke the access token only.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "auth",
    operation_id = "logout",
    request_body(content = LogoutBody, description = "Optional: the refresh token to revoke too"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        CommonErrors, BodyErrors,
    ),
)]
async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<StatusCode, HttpError> {
    let has_body = request.headers().contains_key(header::CONTENT_TYPE);
    let body = if has_body {
        JsonBody::<LogoutBody>::from_request(request, &state).await?.0
    } else {
        LogoutBody::default()
    };
    users::logout(&state, caller.viewer(), body.refresh_token.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out everywhere
///
/// Every access and refresh token issued to the caller until now is refused, on every
/// instance; a later login works.
#[utoipa::path(
    post,
    path = "/logout-all",
    tag = "auth",
    operation_id = "logoutAll",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every earlier token of the caller is refused"),
        CommonErrors,
    ),
)]
async fn logout_all(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, AppError> {
    users::logout_all(&state, caller.viewer()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password
///
/// Needs a fresh access token (from a login). A wrong `current_password` and a too-short
/// `new_password` are 422 on those fields; the check of the current password counts as a
/// login attempt for throttling (429 with `Retry-After`). On success every earlier token of
/// the caller is refused, as after `POST /api/auth/logout-all`: log in again.
#[utoipa::path(
    post,
    path = "/password",
    tag = "auth",
    operation_id = "changePassword",
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; every earlier token of the caller is refused"),
        (status = 429, response = TooManyRequests),
        CommonErrors, BodyErrors,
    ),
)]
async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: Caller,
    JsonBody(input): JsonBody<PasswordChange>,
) -> Result<StatusCode, AppError> {
    users::change_password(&state, caller.viewer(), client, input.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The current user
#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = UserBody),
        CommonErrors,
    ),
)]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<JsonResponse<UserBody>, AppError> {
    Ok(JsonResponse(users::me(&state, caller.viewer()).await?.into()))
}
