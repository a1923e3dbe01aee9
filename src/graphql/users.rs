//! `me`, `signup`, `login`, `refreshToken`, `logout`, `logoutAll`,
//! `changePassword`.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::context::{state, viewer};
use super::cost::PASSWORD_HASH_COST;
use super::scalars::DateTime;
use crate::domain::users::{self, Credentials, PasswordChange};
use crate::http::ClientAddr;

#[derive(SimpleObject)]
#[graphql(name = "User")]
pub struct User {
    id: ID,
    email: String,
    roles: Vec<String>,
    created_at: DateTime,
}

impl From<users::User> for User {
    fn from(user: users::User) -> Self {
        Self {
            id: user.id.into(),
            email: user.email,
            roles: user.roles,
            created_at: DateTime(user.created_at),
        }
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    access_token: String,
    refresh_token: String,
    token_type: String,
    /// Lifetime of the access token in seconds.
    expires_in: u64,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user, or null for anonymous callers.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match viewer(ctx) {
            None => Ok(None),
            Some(v) => Ok(Some(users::me(state(ctx), Some(v)).await?.into())),
        }
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    #[graphql(complexity = "PASSWORD_HASH_COST + child_complexity")]
    async fn signup(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<User> {
        let client = ctx.data_opt::<ClientAddr>().and_then(|c| c.0);
        Ok(users::signup(state(ctx), client, Credentials { email, password }).await?.into())
    }

    /// Spends a refresh token: a new (not fresh) access token and the refresh
    /// token to use next time. A refresh token used twice revokes its whole
    /// session.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(users::refresh(state(ctx), &refresh_token).await?.into())
    }

    /// Revokes the caller's access token and, if given, the refresh token.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: Option<String>) -> async_graphql::Result<bool> {
        users::logout(state(ctx), viewer(ctx), refresh_token.as_deref()).await?;
        Ok(true)
    }

    /// Refuses every access and refresh token issued to the caller until
    /// now, on every instance; a later login works.
    async fn logout_all(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        users::logout_all(state(ctx), viewer(ctx)).await?;
        Ok(true)
    }

    /// Needs a fresh token. Ends every earlier session of the caller, as
    /// `logoutAll` does.
    #[graphql(complexity = "PASSWORD_HASH_COST + child_complexity")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let client = ctx.data_opt::<ClientAddr>().and_then(|c| c.0);
        let change = PasswordChange { current_password, new_password };
        users::change_password(state(ctx), viewer(ctx), client, change).await?;
        Ok(true)
    }

    #[graphql(complexity = "PASSWORD_HASH_COST + child_complexity")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let app = state(ctx);
        let client = ctx.data_opt::<ClientAddr>().and_then(|c| c.0);
        Ok(users::login(app, client, Credentials { email, password }).await?.into())
    }
}

impl From<users::Session> for AuthPayload {
    fn from(session: users::Session) -> Self {
        Self {
            access_token: session.access.token,
            refresh_token: session.refresh.token,
            token_type: "Bearer".into(),
            expires_in: session.expires_in,
        }
    }
}
