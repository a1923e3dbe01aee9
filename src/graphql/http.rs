//! HTTP transport for GraphQL (the GraphQL-over-HTTP spec): authentication
//! (shared with REST), per-request loaders, the operation limits, media
//! types and status codes, and GraphiQL for browsers.

use std::sync::Arc;

use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{BatchRequest, BatchResponse, ErrorExtensions, ParseRequestError, ServerError};
use async_graphql_axum::GraphQLBatchRequest;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;

use super::documents::{DocumentCache, KnownDocument, PersistedQueryError};
use super::{MAX_BATCH, Schemas, build_schemas, graphiql, loaders};
use crate::auth::{Viewer, authenticate};
use crate::domain::error::AppError;
use crate::http::ClientAddr;
use crate::http::problem::HttpError;
use crate::json::JsonResponse;
use crate::state::AppState;
use crate::telemetry;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

#[derive(Clone)]
struct GraphqlState {
    app: AppState,
    schemas: Schemas,
    graphiql: Arc<graphiql::Assets>,
    documents: Arc<DocumentCache>,
}

pub fn router(state: AppState) -> Router {
    let schemas = build_schemas(state.clone());
    let graphiql = Arc::new(graphiql::Assets::load(&state.config.graphiql_assets));
    let websocket = Router::new()
        .route("/graphql/ws", get(super::socket::websocket))
        .with_state(super::socket::Sockets::new(state.clone(), schemas.costed.clone()));
    Router::new()
        .route("/graphql", get(get_graphql).post(execute))
        .route("/graphql/assets/{file}", get(graphiql_asset))
        .with_state(GraphqlState { app: state, schemas, graphiql, documents: Arc::new(DocumentCache::new()) })
        .merge(websocket)
}

async fn graphiql_asset(State(state): State<GraphqlState>, file: axum::extract::Path<String>) -> Response {
    state.graphiql.file(file).into_response()
}

/// The response media type the client asked for: the GraphQL-over-HTTP
/// type when it lists it, plain JSON otherwise (legacy clients).
#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    JsonResponse,
}

/// Anything else (no `Accept`, `*/*`, an unsupported type) gets plain JSON,
/// which the spec allows and every client reads.
fn negotiate(headers: &HeaderMap) -> MediaType {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if accept.to_ascii_lowercase().contains(GRAPHQL_RESPONSE_JSON) {
        MediaType::GraphqlResponse
    } else {
        MediaType::JsonResponse
    }
}

/// A browser asking for a page gets GraphiQL; anything else is a query.
async fn get_graphql(
    State(state): State<GraphqlState>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    client: ClientAddr,
    request: Result<GraphQLBatchRequest<TransportError>, TransportError>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && uri.query().is_none_or(|q| !q.contains("query=")) {
        return state.graphiql.page().into_response();
    }
    execute(State(state), method, headers, client, request).await
}

async fn execute(
    State(state): State<GraphqlState>,
    method: Method,
    headers: HeaderMap,
    client: ClientAddr,
    request: Result<GraphQLBatchRequest<TransportError>, TransportError>,
) -> Response {
    let media = negotiate(&headers);
    let request = match request {
        Ok(request) => request,
        Err(error) => return error.with_media(media),
    };
    let viewer = match authenticate(&state.app, &headers).await {
        Ok(viewer) => viewer,
        Err(error) => return error_response(error).with_media(media),
    };
    let mut batch = request.into_inner();
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > MAX_BATCH
    {
        let error =
            AppError::BadRequest(format!("a batch may hold at most {MAX_BATCH} operations; none were run"));
        return error_response(error).with_media(media);
    }
    // A persisted query's hash becomes its text before anything reads it.
    let mut prepared: Vec<_> = batch
        .iter_mut()
        .map(|request| state.documents.resolve_persisted(request).map(|()| state.documents.prime(request)))
        .collect();
    if method == Method::GET && has_mutation(&mut batch) {
        let mut response = error_response(HttpError::MethodNotAllowed { allow: "POST".into() });
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response.with_media(media);
    }
    let response = match batch {
        BatchRequest::Single(request) => {
            let prepared = prepared.pop().unwrap_or(Ok(None));
            BatchResponse::Single(run(&state, request, prepared, viewer, client).await)
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for (request, prepared) in requests.into_iter().zip(prepared) {
                responses.push(run(&state, request, prepared, viewer.clone(), client).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    respond(response, media)
}

/// Runs one operation on the schema its kind calls for: introspection's,
/// the one without the document rules (depth and cost are still checked)
/// for a document that passed them, or the full one (which then records a
/// pass). A persisted query that
/// did not resolve is answered with why, and nothing runs.
async fn run(
    state: &GraphqlState,
    mut request: async_graphql::Request,
    prepared: Result<Option<Arc<KnownDocument>>, PersistedQueryError>,
    viewer: Option<Viewer>,
    client: ClientAddr,
) -> async_graphql::Response {
    let known = match prepared {
        Ok(known) => known,
        Err(error) => return async_graphql::Response::from_errors(vec![server_error(error.into())]),
    };
    let introspection = is_introspection_only(&mut request);
    let skip_rules = !introspection && known.as_ref().is_some_and(|known| known.may_skip_rules(&request));
    let schema = match &state.schemas.introspection {
        Some(schema) if introspection => schema,
        _ if skip_rules => &state.schemas.known_valid,
        _ => &state.schemas.limited,
    };
    let name = operation_name(&mut request);
    state.app.metrics.record_graphql_operation(
        name.as_deref(),
        if introspection { "introspection" } else { "operation" },
        if skip_rules { "skipped" } else { "checked" },
    );
    let span = operation_span(&mut request);
    let request = loaders::install(request.data(viewer).data(client), &state.app);
    let response = super::cost::execute(schema, &state.schemas.costed, request).instrument(span).await;
    if let Some(known) = known
        && !introspection
        && !skip_rules
        && response.errors.is_empty()
    {
        known.passed_rules();
    }
    response
}

/// The operation's span, for traces only (`telemetry::TRACE_ONLY`): named
/// by its type and name as OpenTelemetry's GraphQL conventions have it
/// (`query ProductPage`). Without traces it is disabled and costs nothing.
pub(super) fn operation_span(request: &mut async_graphql::Request) -> tracing::Span {
    let span = tracing::info_span!(
        target: telemetry::TRACE_ONLY,
        "graphql",
        otel.name = tracing::field::Empty,
        graphql.operation.name = tracing::field::Empty,
        graphql.operation.type = tracing::field::Empty,
    );
    if !span.is_disabled() {
        let kind = match super::documents::operation_of(request).map(|operation| operation.ty) {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "unknown",
        };
        let name = operation_name(request);
        if let Some(name) = &name {
            span.record("graphql.operation.name", name.as_str());
        }
        span.record("graphql.operation.type", kind);
        span.record("otel.name", format!("{kind} {}", name.as_deref().unwrap_or("anonymous")));
    }
    span
}

/// The operation's name: the one asked for, or the document's only one.
fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    let document = request.parsed_query().ok()?;
    let mut operations = document.operations.iter();
    match (operations.next(), operations.next()) {
        (Some((name, _)), None) => name.map(|n| n.to_string()),
        _ => None,
    }
}

/// Whether the operation selects only `__schema`, `__type` or `__typename`
/// at its root (GraphiQL's introspection query).
fn is_introspection_only(request: &mut async_graphql::Request) -> bool {
    let Some(operation) = super::documents::operation_of(request) else { return false };
    operation.ty == OperationType::Query
        && operation.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(field) => field.node.name.node.starts_with("__"),
            _ => false,
        })
}

/// Whether the operation named `name` is the one the request runs: the one
/// named by `operationName`, or any when none is named.
fn is_selected(name: Option<&async_graphql::Name>, wanted: &Option<String>) -> bool {
    match (wanted, name) {
        (Some(wanted), Some(name)) => wanted == name.as_str(),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Mutations are never run over GET (they could be triggered by a link).
fn has_mutation(batch: &mut BatchRequest) -> bool {
    batch.iter_mut().any(|request| {
        let operation_name = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else { return false };
        document.operations.iter().any(|(name, operation)| {
            is_selected(name, &operation_name) && operation.node.ty == OperationType::Mutation
        })
    })
}

/// Status codes per GraphQL over HTTP: with `application/json`, every
/// well-formed request is a 200; with `application/graphql-response+json`,
/// a request that could not run at all (parse or validation errors) is a
/// 400 without a `data` entry.
fn respond(response: BatchResponse, media: MediaType) -> Response {
    let request_error = |r: &async_graphql::Response| {
        matches!(r.data, async_graphql::Value::Null)
            && !r.errors.is_empty()
            && r.errors.iter().all(|e| e.path.is_empty())
    };
    let mut http = match (response, media) {
        (BatchResponse::Single(single), MediaType::GraphqlResponse) if request_error(&single) => {
            (StatusCode::BAD_REQUEST, JsonResponse(serde_json::json!({ "errors": single.errors })))
                .into_response()
        }
        (response, _) => (StatusCode::OK, JsonResponse(response)).into_response(),
    };
    set_media(&mut http, media);
    http
}

fn set_media(response: &mut Response, media: MediaType) {
    let value = match media {
        MediaType::GraphqlResponse => HeaderValue::from_static(GRAPHQL_RESPONSE_JSON),
        MediaType::JsonResponse => HeaderValue::from_static("application/json"),
    };
    response.headers_mut().insert(header::CONTENT_TYPE, value);
}

trait WithMedia {
    fn with_media(self, media: MediaType) -> Response;
}

impl WithMedia for Response {
    fn with_media(mut self, media: MediaType) -> Response {
        set_media(&mut self, media);
        self
    }
}

/// A GraphQL-shaped error body with the HTTP status of the error (401 for
/// a refused token, 503 when a dependency is down, ...).
pub fn error_response(error: impl Into<HttpError>) -> Response {
    let error = error.into();
    let status = error.status();
    let challenge = error.challenge();
    let retry_after = error.retry_after();
    let error = match error {
        HttpError::App(error) => error.into(),
        other => async_graphql::Error::new(other.detail()).extend_with(|_, e| e.set("code", other.code())),
    };
    let body = serde_json::json!({ "errors": [server_error(error)] });
    let mut response = (status, JsonResponse(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPHQL_RESPONSE_JSON));
    if let Some(challenge) = challenge {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// An error of the request as a whole: no location in the document, no path.
fn server_error(error: async_graphql::Error) -> ServerError {
    ServerError { extensions: error.extensions, ..ServerError::new(error.message, None) }
}

/// A request that is not GraphQL at all (bad JSON, wrong media type).
pub struct TransportError(ParseRequestError);

impl From<ParseRequestError> for TransportError {
    fn from(error: ParseRequestError) -> Self {
        Self(error)
    }
}

impl TransportError {
    fn into_http_error(self) -> HttpError {
        match self.0 {
            ParseRequestError::PayloadTooLarge => HttpError::PayloadTooLarge,
            // A streamed body cut off by the body-limit layer arrives as an
            // I/O error carrying http-body's `LengthLimitError` text.
            ParseRequestError::Io(ref io) if io.to_string().contains("length limit exceeded") => {
                HttpError::PayloadTooLarge
            }
            ParseRequestError::UnsupportedBatch => {
                AppError::BadRequest("batches are not supported here".into()).into()
            }
            other => AppError::BadRequest(format!("not a GraphQL request: {other}")).into(),
        }
    }

    fn with_media(self, media: MediaType) -> Response {
        error_response(self.into_http_error()).with_media(media)
    }
}

impl IntoResponse for TransportError {
    fn into_response(self) -> Response {
        error_response(self.into_http_error())
    }
}
