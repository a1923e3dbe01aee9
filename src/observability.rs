//! What operators see: `/healthz`, `/readyz`, Prometheus `/metrics`, the
//! token verification keys at `/.well-known/jwks.json`, a request id on
//! every request (in logs and problem bodies), tracing spans, and the
//! protective layers (CORS, compression, timeout, body limit).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody, to_bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Router};
use futures_util::future::BoxFuture;
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tower::{Layer, Service, ServiceBuilder};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};
use tracing::Span;

use crate::auth::viewer::bearer_token;
use crate::config::{Config, CorsOrigins, Environment};
use crate::domain::error::AppError;
use crate::domain::health;
use crate::http::problem::PROBLEM_JSON;
use crate::json::JsonResponse;
use crate::state::AppState;
use crate::telemetry;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The largest request body accepted (413 beyond).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(state)
}

/// How long clients may cache the key set. A rotation publishes the new
/// key and keeps the previous one, so a cached set is at worst missing the
/// new key for this long; verifiers refetch on an unknown `kid`.
const JWKS_MAX_AGE: &str = "public, max-age=300";

/// The public keys that verify storegate's tokens (EdDSA), as a JWK set.
/// Under HS256 there is no public key: 404, as for any unknown route.
async fn jwks(State(state): State<AppState>) -> Response {
    let Some(keys) = state.tokens.jwks() else {
        return AppError::NotFound(
            "this server publishes no keys: its tokens are not signed with a public-key algorithm".into(),
        )
        .into_response();
    };
    let mut response = JsonResponse(keys).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(JWKS_MAX_AGE));
    response
}

/// Liveness: the process answers.
async fn healthz() -> JsonResponse<serde_json::Value> {
    JsonResponse(serde_json::json!({ "status": "ok" }))
}

/// Readiness: 200 when every check passes, else 503 with `Retry-After`;
/// the body names each check either way.
async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = health::readiness(&state).await;
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "status": if readiness.ready { "ready" } else { "unavailable" },
        "checks": readiness.checks,
    });
    let mut response = (status, JsonResponse(body)).into_response();
    if !readiness.ready {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// Histogram buckets, in seconds.
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How often histogram samples are folded into buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
/// Distinct operation names tracked before the rest count as `other`:
/// clients choose names, and unbounded label values would grow memory.
const MAX_OPERATION_NAMES: usize = 500;
/// Longer operation names count as `other` too.
const MAX_OPERATION_NAME_LEN: usize = 64;

/// One application's metrics: its own Prometheus recorder, rendered at
/// `/metrics`, and the handles recorded through it. Nothing goes through
/// the `metrics` crate's global recorder, so two apps in one process (as
/// in the tests) count apart. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Recorders>);

struct Recorders {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    requests: HandleCache<(&'static str, StatusCode), RequestMetrics>,
    operations: HandleCache<(&'static str, &'static str), Counter>,
    refused_connections: Counter,
    pool_in_use: Gauge,
    pool_idle: Gauge,
}

/// The `http_requests_total` and `http_request_duration_seconds` handles of
/// one label set.
struct RequestMetrics {
    count: Counter,
    duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let key = |name: &'static str, labels: Vec<Label>| Key::from_parts(name, labels);
        let refused_connections =
            recorder.register_counter(&key("http_connections_refused_total", vec![]), &METADATA);
        let pool = |state: &'static str| {
            recorder.register_gauge(&key("db_pool_connections", vec![Label::new("state", state)]), &METADATA)
        };
        let (pool_in_use, pool_idle) = (pool("in_use"), pool("idle"));
        let recorders = Arc::new(Recorders {
            recorder,
            handle,
            requests: HandleCache::unbounded(),
            operations: HandleCache::bounded(MAX_OPERATION_NAMES, MAX_OPERATION_NAME_LEN),
            refused_connections,
            pool_in_use,
            pool_idle,
        });
        // Histogram samples pile up until upkeep folds them into buckets;
        // without a scrape that is a slow leak (seen in the soak), so fold
        // them regularly whether or not anyone scrapes. The thread ends
        // once the app is gone.
        let weak = Arc::downgrade(&recorders);
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    let Some(recorders) = weak.upgrade() else { break };
                    recorders.handle.run_upkeep();
                }
            })
            .ok();
        Self(recorders)
    }

    /// The Prometheus text of every metric recorded so far.
    pub fn render(&self) -> String {
        self.0.handle.run_upkeep();
        self.0.handle.render()
    }

    /// A connection over `MAX_CONNECTIONS`, refused.
    pub fn record_refused_connection(&self) {
        self.0.refused_connections.increment(1);
    }

    fn record_pool(&self, size: u32, idle: usize) {
        let size = f64::from(size);
        let idle = idle as f64;
        self.0.pool_in_use.set(size - idle);
        self.0.pool_idle.set(idle);
    }

    /// Counts a GraphQL operation by name, type, and how it was validated:
    /// every rule (`checked`), or only depth, cost and the
    /// variable-dependent ones because its document had passed the rest
    /// before (`skipped`, `graphql::documents`). Names past
    /// `MAX_OPERATION_NAMES`, and overlong ones, share `other`.
    pub fn record_graphql_operation(&self, name: Option<&str>, kind: &'static str, rules: &'static str) {
        let recorder = &self.0.recorder;
        self.0.operations.with(
            name.unwrap_or("anonymous"),
            (kind, rules),
            |name| {
                let labels = vec![
                    Label::new("operation", name.to_string()),
                    Label::new("type", kind),
                    Label::new("rules", rules),
                ];
                recorder.register_counter(&Key::from_parts("graphql_operations_total", labels), &METADATA)
            },
            |counter| counter.increment(1),
        );
    }

    /// Request count and latency per method, route and status.
    fn record_request(
        &self,
        method: &Method,
        route: Option<&MatchedPath>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let route = route.map_or("unmatched", MatchedPath::as_str);
        let method = method_label(method);
        let recorder = &self.0.recorder;
        self.0.requests.with(
            route,
            (method, status),
            |route| {
                let labels = || {
                    vec![
                        Label::new("method", method),
                        Label::new("route", route.to_string()),
                        Label::new("status", status.as_str().to_string()),
                    ]
                };
                RequestMetrics {
                    count: recorder
                        .register_counter(&Key::from_parts("http_requests_total", labels()), &METADATA),
                    duration: recorder.register_histogram(
                        &Key::from_parts("http_request_duration_seconds", labels()),
                        &METADATA,
                    ),
                }
            },
            |found| {
                found.count.increment(1);
                found.duration.record(elapsed.as_secs_f64());
            },
        );
    }
}

/// What the `metrics` macros would pass; the Prometheus recorder ignores it.
static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Metric handles kept per label set: building the labels and finding them
/// in the recorder on every request cost more than the rest of the edge
/// layer. Handles are found by their open-ended label (a route, an
/// operation name), then by the other labels, `L`.
struct HandleCache<L, H> {
    known: RwLock<Handles<L, H>>,
    /// Distinct names kept before the rest share `other`.
    max_names: usize,
    /// Longer names share `other` too.
    max_name_len: usize,
}

/// Handles by name, then by the other labels.
type Handles<L, H> = HashMap<Box<str>, Vec<(L, H)>>;

impl<L: Copy + PartialEq, H> HandleCache<L, H> {
    /// For names the server chooses (routes): a set the router bounds.
    fn unbounded() -> Self {
        Self::bounded(usize::MAX, usize::MAX)
    }

    /// For names clients choose.
    fn bounded(max_names: usize, max_name_len: usize) -> Self {
        Self { known: RwLock::default(), max_names, max_name_len }
    }

    /// Hands `record` the handle of `name` and `labels`, made by `create`
    /// (from the name as counted) the first time.
    fn with(&self, name: &str, labels: L, create: impl FnOnce(&str) -> H, record: impl FnOnce(&H)) {
        fn find<'a, L: PartialEq, H>(known: &'a Handles<L, H>, name: &str, labels: &L) -> Option<&'a H> {
            known.get(name)?.iter().find(|(l, _)| l == labels).map(|(_, handle)| handle)
        }
        if let Some(handle) = find(&self.known.read().unwrap_or_else(PoisonError::into_inner), name, &labels)
        {
            return record(handle);
        }
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        let name = if known.contains_key(name)
            || (known.len() < self.max_names && name.len() <= self.max_name_len)
        {
            name
        } else {
            "other"
        };
        if let Some(handle) = find(&known, name, &labels) {
            return record(handle);
        }
        let handle = create(name);
        record(&handle);
        known.entry(name.into()).or_default().push((labels, handle));
    }
}

/// Methods outside the standard set share one label: clients choose them,
/// and unbounded label values would grow memory.
fn method_label(method: &Method) -> &'static str {
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"]
        .into_iter()
        .find(|standard| *standard == method.as_str())
        .unwrap_or("OTHER")
}

/// Who may read `/metrics`: anyone in development; in production only the
/// bearer of `METRICS_TOKEN`, and nobody (the route does not exist) when it
/// is unset. The comparison is of SHA-256 digests in constant time, so
/// timing tells nothing about the token.
fn may_read_metrics(config: &Config, headers: &HeaderMap) -> Result<(), AppError> {
    if config.env == Environment::Development {
        return Ok(());
    }
    let Some(token) = &config.metrics_token else {
        return Err(AppError::NotFound("no such route".into()));
    };
    let presented = bearer_token(headers).ok().flatten().unwrap_or_default();
    let expected = Sha256::digest(token.as_bytes());
    if bool::from(Sha256::digest(presented.as_bytes()).ct_eq(&expected)) {
        Ok(())
    } else {
        Err(AppError::Unauthenticated {
            message: "the metrics need the bearer token the server was given (METRICS_TOKEN)".into(),
            token_refused: false,
        })
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refused) = may_read_metrics(&state.config, &headers) {
        return refused.into_response();
    }
    match state.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            state.metrics.record_pool(pool.size(), pool.num_idle());
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            state.metrics.record_pool(pool.size(), pool.num_idle());
        }
        _ => {}
    }
    let mut response = state.metrics.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

/// The edge of every response, in one hand-written layer: a bare error from
/// the layers below becomes problem+json, a problem body carries the
/// request id (so a client can quote it), every request is counted and
/// timed, and requests past the in-flight cap are shed. Three `from_fn`
/// middlewares did this before; each of them cloned the whole stack
/// beneath it and boxed a future of its own per request.
#[derive(Clone)]
struct EdgeLayer {
    in_flight: Arc<Semaphore>,
    metrics: Metrics,
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, in_flight: self.in_flight.clone(), metrics: self.metrics.clone() }
    }
}

#[derive(Clone)]
struct Edge<S> {
    inner: S,
    /// Shared by every route: `MAX_IN_FLIGHT_REQUESTS` permits.
    in_flight: Arc<Semaphore>,
    metrics: Metrics,
}

impl<S, B> Service<Request> for Edge<S>
where
    S: Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let request_id = request.headers().get(&REQUEST_ID).cloned();
        // Over the cap, a request is answered at once rather than queued:
        // a queue only grows while the server is behind. Liveness is
        // exempt, so an instance that sheds load is not restarted for it.
        let permit = self.in_flight.clone().try_acquire_owned();
        let exempt = route.as_ref().is_some_and(|route| route.as_str() == "/healthz");
        let response = (permit.is_ok() || exempt).then(|| self.inner.call(request));
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let response = match response {
                Some(response) => {
                    let Ok(response) = response.await;
                    drop(permit);
                    crate::http::problems::bare_error_as_problem(response.map(Body::new))
                }
                None => AppError::ServiceUnavailable { retry_after_secs: 1 }.into_response(),
            };
            metrics.record_request(&method, route.as_ref(), response.status(), started.elapsed());
            Ok(with_request_id(response, request_id).await)
        })
    }
}

/// The span of one request; when traces are exported it is named by its
/// route, a child of the caller's `traceparent`, and carries the status.
fn request_span(request: &Request) -> Span {
    let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    telemetry::continue_trace(&span, request.method().as_str(), route, request.headers());
    span
}

/// Records the response status on the request span (traces only), then
/// logs as tower-http does by default.
#[derive(Clone, Copy)]
struct RecordStatus;

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(self, response: &axum::http::Response<B>, latency: Duration, span: &Span) {
        if telemetry::exporting() {
            span.record("http.response.status_code", response.status().as_u16());
            if response.status().is_server_error() {
                span.record("otel.status_code", "ERROR");
            }
        }
        DefaultOnResponse::default().on_response(response, latency, span);
    }
}

/// Adds the request id to a problem body.
async fn with_request_id(response: Response, id: Option<HeaderValue>) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes() == PROBLEM_JSON.as_bytes());
    let Some(id) = id.filter(|_| is_problem).and_then(|id| id.to_str().ok().map(str::to_string)) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut problem)) => {
            problem.insert("request_id".into(), id.into());
            parts.headers.remove(header::CONTENT_LENGTH);
            serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    Response::from_parts(parts, Body::from(body))
}

fn cors(config: &Config) -> CorsLayer {
    let origins = match &config.cors_allowed_origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            REQUEST_ID,
            // Conditional requests and safe retries (docs/API.md §3.2).
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            crate::rest::idempotency::IDEMPOTENCY_KEY,
        ])
        .expose_headers([
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            REQUEST_ID,
            header::ETAG,
            crate::rest::idempotency::REPLAYED,
        ])
        .allow_credentials(config.cors_allow_credentials)
        .max_age(Duration::from_secs(600))
}

/// Wraps the routes in every cross-cutting layer, outermost first.
///
/// One `ServiceBuilder` stack, applied with one `Router::layer`: each
/// `Router::layer` call boxes every route again, and a boxed layer costs
/// a clone and a boxed future per request (eleven of each before).
pub fn layers(router: Router, state: &AppState) -> Router {
    let config = &state.config;
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(RecordStatus))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(cors(config))
        .layer(CompressionLayer::new())
        // Outside the timeout, so a request that outlives it is counted
        // (as the 503 problem it gets) like any other.
        .layer(EdgeLayer {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight_requests as usize)),
            metrics: state.metrics.clone(),
        })
        // A request that outlives the timeout gets a 503, never a hung
        // connection.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout))
        // Also bounds bodies read as streams (GraphQL), which bypass the
        // extractor limit below.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    router.layer(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client-chosen names cannot grow the label set without bound: past
    /// the limit they share `other`, and a name seen before keeps its own.
    #[test]
    fn graphql_operation_names_past_the_limit_are_counted_as_other() {
        let metrics = Metrics::new();
        for n in 0..MAX_OPERATION_NAMES + 100 {
            metrics.record_graphql_operation(Some(&format!("BoundedName{n}")), "operation", "checked");
        }
        metrics.record_graphql_operation(Some("BoundedName0"), "operation", "skipped");
        metrics.record_graphql_operation(Some(&"L".repeat(65)), "operation", "checked");
        let rendered = metrics.render();
        let own = rendered.lines().filter(|line| line.contains("operation=\"BoundedName")).count();
        assert_eq!(own, MAX_OPERATION_NAMES + 1, "{own} label sets of their own");
        assert!(rendered.contains(r#"operation="BoundedName0",type="operation",rules="skipped"} 1"#));
        assert!(
            rendered.contains(
                r#"graphql_operations_total{operation="other",type="operation",rules="checked"} 101"#
            )
        );
        assert!(!rendered.contains(&"L".repeat(65)));
    }

    /// Each app renders only what it recorded itself.
    #[test]
    fn apps_count_apart() {
        let (one, other) = (Metrics::new(), Metrics::new());
        one.record_graphql_operation(Some("OnlyHere"), "operation", "checked");
        one.record_refused_connection();
        assert!(one.render().contains(r#"operation="OnlyHere""#));
        assert!(one.render().contains("http_connections_refused_total 1"));
        assert!(!other.render().contains("OnlyHere"));
        assert!(other.render().contains("http_connections_refused_total 0"));
    }
}
