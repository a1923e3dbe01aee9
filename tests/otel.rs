//! Traces over OTLP (docs/API.md §8), received by an in-process collector:
//! a request that carries a `traceparent` yields spans of that trace for
//! the request, the GraphQL operation and the SQL statements.
//!
//! Its own test binary: the subscriber and the exporter are process-wide.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::routing::post;
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::{AnyValue as Any, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use sea_orm::ConnectionTrait;
use storegate::config::{Config, Environment};
use storegate::telemetry::{self, OtlpConfig, Traces};
use storegate::{AppState, app, db};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const UNSAMPLED_TRACE_ID: &str = "1bf7651916cd43dd8448eb211c80319c";
const CALLER_SPAN_ID: &str = "b7ad6b7169203331";

/// One span as received, with its service's name.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    kind: i32,
    attributes: Vec<(String, String)>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
}

impl Collector {
    fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `done` holds for the spans received.
    async fn until(&self, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            let _ = tokio::time::timeout_at(deadline, arrived).await;
        }
    }
}

/// `POST /v1/traces`, as an OTLP/HTTP collector answers it.
async fn receive(State(collector): State<Collector>, body: Bytes) -> StatusCode {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else { return StatusCode::BAD_REQUEST };
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|kv| kv.key == "service.name")
            .map(text)
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attributes: span.attributes.iter().map(|kv| (kv.key.clone(), text(kv))).collect(),
                });
            }
        }
    }
    collector.spans.lock().unwrap().extend(received);
    collector.arrived.notify_waiters();
    StatusCode::OK
}

fn text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|Any { value }| value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn start_collector() -> (SocketAddr, Collector) {
    let collector = Collector::default();
    let router = Router::new().route("/v1/traces", post(receive)).with_state(collector.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, collector)
}

async fn send(router: &Router, request: Request<Body>) -> StatusCode {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

/// Serves `router` on a port and runs `query` over `graphql-transport-ws`.
async fn query_over_a_socket(router: &Router, query: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = router.clone().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    let mut request = format!("ws://{address}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let messages = [
        serde_json::json!({ "type": "connection_init", "payload": {} }),
        serde_json::json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
    ];
    for message in messages {
        socket.send(Message::text(message.to_string())).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next()).await.expect("the socket answers");
        let Some(Ok(Message::Text(text))) = message else { continue };
        let message: serde_json::Value = serde_json::from_str(&text).unwrap();
        match message["type"].as_str() {
            Some("connection_ack" | "next") => {}
            Some("complete") => break,
            _ => panic!("unexpected: {message}"),
        }
    }
    socket.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_yields_spans_for_the_request_the_operation_and_sql() {
    let (address, collector) = start_collector().await;
    let otlp = OtlpConfig::from_settings(Some(&format!("http://{address}")), Some("storegate-test"))
        .unwrap()
        .expect("an endpoint means traces");
    let traces = Traces::start(&otlp).unwrap();
    telemetry::init_subscriber(Environment::Development, Some(&traces));
    assert!(telemetry::exporting());

    let database = Database::open().await;
    let config = Config::for_database(&database.url, b"otel-test-secret-of-at-least-32-bytes!!".to_vec());
    let connection = database.connection.clone();
    let router = app(AppState::new(connection, config).unwrap());

    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01");
    let rest = Request::get("/api/products/1")
        .header("traceparent", &traceparent)
        .header("x-request-id", "otel-rest-1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, rest).await, StatusCode::NOT_FOUND);
    let query = serde_json::json!({ "query": "query Catalog { products(first: 1) { nodes { id } } }" });
    let graphql = Request::post("/graphql")
        .header("traceparent", &traceparent)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(query.to_string()))
        .unwrap();
    assert_eq!(send(&router, graphql).await, StatusCode::OK);
    let untraced = Request::get("/api/products/2").body(Body::empty()).unwrap();
    assert_eq!(send(&router, untraced).await, StatusCode::NOT_FOUND);
    // A caller that did not sample its trace gets none exported.
    let unsampled = Request::get("/api/products/3")
        .header("traceparent", format!("00-{UNSAMPLED_TRACE_ID}-{CALLER_SPAN_ID}-00"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, unsampled).await, StatusCode::NOT_FOUND);
    query_over_a_socket(&router, "query SocketCatalog { products(first: 1) { nodes { id } } }").await;

    traces.flush().await.unwrap();
    let spans = collector
        .until(|spans| {
            spans.iter().any(|s| s.name == "query Catalog")
                && spans.iter().any(|s| s.name == "query SocketCatalog")
                && spans.iter().filter(|s| s.name.starts_with("GET /api/products")).count() == 2
        })
        .await;
    let shown = || {
        spans.iter().map(|s| format!("{} {} <- {}", s.name, s.span_id, s.parent_span_id)).collect::<Vec<_>>()
    };
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name && s.trace_id == TRACE_ID)
            .unwrap_or_else(|| panic!("no span {name:?} in trace {TRACE_ID}: {:?}", shown()))
    };

    // The request: named by route, a server span under the caller's span,
    // with the request id and status.
    let rest = named("GET /api/products/{id}");
    assert_eq!(rest.parent_span_id, CALLER_SPAN_ID);
    assert_eq!(rest.kind, SpanKind::Server as i32);
    assert_eq!(rest.service, "storegate-test");
    assert_eq!(rest.attribute("request_id"), Some("otel-rest-1"));
    assert_eq!(rest.attribute("http.route"), Some("/api/products/{id}"));
    assert_eq!(rest.attribute("http.response.status_code"), Some("404"));
    let rest_sql: Vec<_> = spans.iter().filter(|s| s.parent_span_id == rest.span_id).collect();
    assert!(
        rest_sql
            .iter()
            .any(|s| s.name.starts_with("sea_orm.") && s.attribute("db.system") == Some(database.system)),
        "no SQL span under the REST request: {:?}",
        shown()
    );
    assert!(rest_sql.iter().all(|s| s.trace_id == TRACE_ID));

    // The GraphQL request, its operation, and the operation's SQL.
    let post = named("POST /graphql");
    assert_eq!(post.parent_span_id, CALLER_SPAN_ID);
    let operation = named("query Catalog");
    assert_eq!(operation.parent_span_id, post.span_id);
    assert_eq!(operation.attribute("graphql.operation.name"), Some("Catalog"));
    assert_eq!(operation.attribute("graphql.operation.type"), Some("query"));
    let sql: Vec<_> = spans.iter().filter(|s| s.parent_span_id == operation.span_id).collect();
    let select = sql
        .iter()
        .find(|s| s.attribute("db.operation") == Some("SELECT"))
        .unwrap_or_else(|| panic!("no SQL span under the operation: {:?}", shown()));
    assert_eq!(select.trace_id, TRACE_ID);
    assert_eq!(select.kind, SpanKind::Client as i32);
    assert!(select.attribute("db.statement").is_some_and(|sql| sql.contains("product")), "{select:?}");

    // Without a traceparent a request starts a trace of its own.
    let own = spans
        .iter()
        .find(|s| s.name == "GET /api/products/{id}" && s.trace_id != TRACE_ID)
        .unwrap_or_else(|| panic!("no span for the untraced request: {:?}", shown()));
    assert!(own.parent_span_id.is_empty(), "{own:?}");

    assert!(!spans.iter().any(|s| s.trace_id == UNSAMPLED_TRACE_ID), "{:?}", shown());

    // A query over the websocket: an operation span too, with its SQL.
    let socket = spans
        .iter()
        .find(|s| s.name == "query SocketCatalog")
        .unwrap_or_else(|| panic!("no span for the socket's query: {:?}", shown()));
    assert_eq!(socket.attribute("graphql.operation.type"), Some("query"));
    assert!(
        spans.iter().any(|s| s.parent_span_id == socket.span_id && s.name.starts_with("sea_orm.")),
        "no SQL span under the socket's query: {:?}",
        shown()
    );

    traces.shutdown().await;
    assert!(!telemetry::exporting());
    database.remove().await;
}

/// A temporary SQLite file, or a PostgreSQL schema of its own when
/// `TEST_DATABASE_URL` is set.
struct Database {
    url: String,
    connection: sea_orm::DatabaseConnection,
    /// `db.system` as SeaORM's spans name it.
    system: &'static str,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl Database {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, schema, system) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let schema = format!("sgt_otel_{}", std::process::id());
                let admin = sea_orm::Database::connect(&url).await.unwrap();
                admin
                    .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
                    .unwrap();
                admin.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.unwrap();
                admin.close().await.ok();
                (url, Some(schema), "postgresql")
            }
            _ => (format!("sqlite://{}?mode=rwc", dir.path().join("otel.db").display()), None, "sqlite"),
        };
        let connection = db::connect_with(&url, schema.as_deref()).await.unwrap();
        db::migrate(&connection).await.unwrap();
        Self { url, connection, system, schema, _dir: dir }
    }

    async fn remove(self) {
        self.connection.close().await.ok();
        if let Some(schema) = self.schema {
            let admin = sea_orm::Database::connect(&self.url).await.unwrap();
            admin.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await.unwrap();
            admin.close().await.ok();
        }
    }
}
