//! `/api/auth`: sign-up, login and the current user.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::extract::{Caller, JsonBody};
use super::responses::created;
use crate::domain::time;
use crate::domain::users::{self, Credentials, User};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/signup", post(signup)).route("/login", post(login)).route("/me", get(me))
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
    JsonBody(input): JsonBody<Credentials>,
) -> Result<Response, AppError> {
    let session = users::login(&state.db, &state.tokens, input).await?;
    Ok(Json(TokenBody {
        access_token: session.access.token,
        refresh_token: session.refresh.token,
        token_type: "Bearer",
        expires_in: session.expires_in,
    })
    .into_response())
}

async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<UserBody>, AppError> {
    Ok(Json(users::me(&state.db, caller.viewer()).await?.into()))
}
