//! `/api/auth`: sign-up, login and the current user.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::extract::{Caller, ClientAddr, JsonBody};
use super::responses::created;
use crate::auth::viewer::bearer_token;
use crate::domain::time;
use crate::domain::users::{self, Credentials, User};
use crate::error::AppError;
use crate::state::AppState;

/// Routes that take the caller's access token (checked by the REST
/// authentication layer).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", post(signup))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
}

/// `/api/auth/refresh` presents a *refresh* token as its bearer, so it sits
/// outside the layer that insists on access tokens and checks its own.
pub fn refresh_router() -> Router<AppState> {
    Router::new().route("/refresh", post(refresh))
}

#[derive(Serialize)]
pub struct UserBody {
    id: i32,
    email: String,
    roles: Vec<String>,
    #[serde(serialize_with = "time::serialize")]
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self { id: user.id, email: user.email, roles: user.roles, created_at: user.created_at }
    }
}

#[derive(Serialize)]
struct TokenBody {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

async fn signup(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<Credentials>,
) -> Result<Response, AppError> {
    let user = users::signup(&state.db, input).await?;
    // The account is read back through /api/auth/me with its token.
    Ok(created("/api/auth/me".into(), UserBody::from(user)))
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(input): JsonBody<Credentials>,
) -> Result<Response, AppError> {
    let session = users::login(&state, client, input).await?;
    Ok(Json(TokenBody {
        access_token: session.access.token,
        refresh_token: session.refresh.token,
        token_type: "Bearer",
        expires_in: session.expires_in,
    })
    .into_response())
}

#[derive(Serialize)]
struct AccessTokenBody {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<AccessTokenBody>, AppError> {
    let token = bearer_token(&headers)?.ok_or_else(|| AppError::Unauthenticated {
        message: "send the refresh token as `Authorization: Bearer <refresh token>`".into(),
        token_refused: false,
    })?;
    let (access, expires_in) = users::refresh(&state, token).await?;
    Ok(Json(AccessTokenBody { access_token: access.token, token_type: "Bearer", expires_in }))
}

#[derive(Default, Deserialize)]
struct LogoutBody {
    refresh_token: Option<String>,
}

/// The body is optional: `{"refresh_token": "..."}` revokes that token too.
async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<StatusCode, AppError> {
    let has_body = request.headers().contains_key(header::CONTENT_TYPE);
    let body = if has_body {
        JsonBody::<LogoutBody>::from_request(request, &state).await?.0
    } else {
        LogoutBody::default()
    };
    users::logout(&state, caller.viewer(), body.refresh_token.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<UserBody>, AppError> {
    Ok(Json(users::me(&state.db, caller.viewer()).await?.into()))
}
