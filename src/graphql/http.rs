//! HTTP transport for GraphQL: authentication (shared with REST), per-request
//! loaders, GraphiQL, and GraphQL-shaped errors for transport failures.

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, ParseRequestError, ServerError};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{AppSchema, build_schema, loaders};
use crate::auth::authenticate;
use crate::error::AppError;
use crate::rest::extract::ClientAddr;
use crate::state::AppState;

#[derive(Clone)]
struct GraphqlState {
    app: AppState,
    schema: AppSchema,
}

pub fn router(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    Router::new()
        .route("/graphql", get(get_graphql).post(execute))
        .with_state(GraphqlState { app: state, schema })
}

/// A browser asking for a page gets GraphiQL; anything else is a query.
async fn get_graphql(
    State(state): State<GraphqlState>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    client: ClientAddr,
    request: GraphQLBatchRequest<TransportError>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && uri.query().is_none_or(|q| !q.contains("query=")) {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    execute(State(state), method, headers, client, request).await
}

async fn execute(
    State(state): State<GraphqlState>,
    method: Method,
    headers: HeaderMap,
    client: ClientAddr,
    request: GraphQLBatchRequest<TransportError>,
) -> Response {
    let viewer = match authenticate(&state.app, &headers).await {
        Ok(viewer) => viewer,
        Err(error) => return error_response(error),
    };
    let mut batch = request.into_inner();
    if method == Method::GET && has_mutation(&mut batch) {
        let mut response = error_response(AppError::MethodNotAllowed { allow: "POST".into() });
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(prepare(request, &state.app, viewer, client)),
        BatchRequest::Batch(requests) => BatchRequest::Batch(
            requests.into_iter().map(|r| prepare(r, &state.app, viewer.clone(), client)).collect(),
        ),
    };
    GraphQLResponse::from(state.schema.execute_batch(batch).await).into_response()
}

fn prepare(
    request: async_graphql::Request,
    app: &AppState,
    viewer: Option<crate::auth::Viewer>,
    client: ClientAddr,
) -> async_graphql::Request {
    loaders::install(request.data(viewer).data(client), &app.db)
}

/// Mutations are never run over GET (they could be triggered by a link).
fn has_mutation(batch: &mut BatchRequest) -> bool {
    batch.iter_mut().any(|request| {
        let operation_name = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else {
            return false;
        };
        document.operations.iter().any(|(name, operation)| {
            let selected = match (&operation_name, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                (Some(_), None) => false,
                (None, _) => true,
            };
            selected && operation.node.ty == OperationType::Mutation
        })
    })
}

/// A GraphQL-shaped error body with the HTTP status of the error (401 for
/// a refused token, 503 when the database is down, ...).
pub fn error_response(error: AppError) -> Response {
    let status = error.status();
    let challenge = match &error {
        AppError::Unauthenticated { token_refused: true, .. } => Some(r#"Bearer error="invalid_token""#),
        AppError::Unauthenticated { .. } => Some("Bearer"),
        _ => None,
    };
    let gql_error: async_graphql::Error = error.into();
    let server_error = ServerError::new(gql_error.message.clone(), None);
    let server_error = ServerError { extensions: gql_error.extensions, ..server_error };
    let body = serde_json::json!({ "errors": [server_error] });
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/graphql-response+json"));
    if let Some(challenge) = challenge {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

/// A request that is not GraphQL at all (bad JSON, wrong media type).
pub struct TransportError(ParseRequestError);

impl From<ParseRequestError> for TransportError {
    fn from(error: ParseRequestError) -> Self {
        Self(error)
    }
}

impl IntoResponse for TransportError {
    fn into_response(self) -> Response {
        let error = match self.0 {
            ParseRequestError::PayloadTooLarge => AppError::PayloadTooLarge,
            // A streamed body cut off by the body-limit layer arrives as an
            // I/O error carrying http-body's `LengthLimitError` text.
            ParseRequestError::Io(ref io) if io.to_string().contains("length limit exceeded") => {
                AppError::PayloadTooLarge
            }
            other => AppError::BadRequest(format!("not a GraphQL request: {other}")),
        };
        let status = error.status();
        let mut response = error_response(error);
        *response.status_mut() = status;
        response
    }
}
