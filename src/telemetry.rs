//! Logs, and traces over OTLP (docs/API.md §8).
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go to a collector over
//! OTLP/HTTP (protobuf): one per request, named by method and route and
//! continuing the caller's W3C `traceparent`; one per GraphQL operation;
//! one per SQL statement (SeaORM's `tracing-spans`). A batch processor on a
//! Tokio task exports them, off the request path.
//!
//! Unset, no exporter exists and the spans that only traces want (SQL,
//! GraphQL operations) are disabled at their call sites, which then cost
//! an atomic load each.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail};
use axum::http::{HeaderMap, Uri};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{Environment, redact_url};

/// `OTEL_SERVICE_NAME` when unset.
pub const DEFAULT_SERVICE_NAME: &str = "storegate";
/// The target of spans only traces want; logs never show them.
pub const TRACE_ONLY: &str = "storegate::trace";
/// How long shutdown waits for the last spans to be sent.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// How long one export may take before it counts as failed.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether spans are exported; read per request to decide whether to look
/// for a `traceparent`.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Where traces go and under which service name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The collector's base URL, e.g. `http://localhost:4318`.
    pub endpoint: String,
    pub service_name: String,
}

impl OtlpConfig {
    /// The OTLP settings, or `None` when `endpoint` is unset or empty.
    ///
    /// # Errors
    /// When `endpoint` is not an `http://` or `https://` URL with a host.
    pub fn from_settings(endpoint: Option<&str>, service_name: Option<&str>) -> anyhow::Result<Option<Self>> {
        let Some(endpoint) = endpoint.map(str::trim).filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        // Credentials in the value stay out of the refusal.
        let shown = match endpoint.rsplit_once('@') {
            Some((_, host)) if !endpoint.contains("://") => format!("***@{host}"),
            _ => redact_url(endpoint),
        };
        let refuse = || {
            anyhow!(
                "OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL: {shown:?}; set it to the \
                 collector's OTLP/HTTP address, e.g. http://localhost:4318, or unset it to export no traces"
            )
        };
        let uri: Uri = endpoint.parse().map_err(|_| refuse())?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) {
            return Err(refuse());
        }
        if uri.query().is_some() {
            bail!(
                "OTEL_EXPORTER_OTLP_ENDPOINT must not carry a query string: {shown:?}; give the collector's \
                 base URL, e.g. http://localhost:4318"
            );
        }
        let service_name =
            service_name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(DEFAULT_SERVICE_NAME);
        Ok(Some(Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            service_name: service_name.into(),
        }))
    }

    /// Where spans are posted: the base URL and `/v1/traces`, as the OTLP
    /// specification builds it from `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.endpoint)
    }
}

/// The running trace pipeline. Shut it down before the runtime ends, so
/// the last batch is sent.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Starts exporting to `config`'s collector. Must run inside a Tokio
    /// runtime: the batch processor is a task of it.
    ///
    /// # Errors
    /// When the exporter cannot be built (no usable HTTP client).
    pub fn start(config: &OtlpConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| anyhow!("could not build the OTLP HTTP client: {e}"))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.traces_url())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| anyhow!("could not set up trace export to {}: {e}", config.endpoint))?;
        let processor = BatchSpanProcessor::builder(
            LoggedExporter { inner: exporter, reported: Mutex::new(Vec::new()) },
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(Resource::builder().with_service_name(config.service_name.clone()).build())
            .build();
        EXPORTING.store(true, Ordering::Relaxed);
        Ok(Self { provider })
    }

    /// The layer that turns `tracing` spans into OpenTelemetry spans: the
    /// request, GraphQL operation and SQL spans, and events inside them.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let tracer = self.provider.tracer("storegate");
        let wanted = Targets::new()
            .with_target("storegate", tracing::Level::INFO)
            .with_target("sea_orm", tracing::Level::INFO);
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_filter(wanted)
    }

    /// Sends every finished span now, waiting at most `SHUTDOWN_WAIT`.
    ///
    /// # Errors
    /// When the spans could not be sent in time.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let provider = self.provider.clone();
        bounded(move || provider.force_flush()).await
    }

    /// Sends what is left and stops the exporter, waiting at most
    /// `SHUTDOWN_WAIT`; a failure is logged, never fatal.
    pub async fn shutdown(self) {
        let provider = self.provider;
        if let Err(error) = bounded(move || provider.shutdown_with_timeout(SHUTDOWN_WAIT)).await {
            tracing::warn!("traces may be lost: {error:#}");
        }
        EXPORTING.store(false, Ordering::Relaxed);
    }
}

/// Runs a blocking SDK call (it waits on the exporter task with a blocking
/// executor) off the runtime's workers, for at most `SHUTDOWN_WAIT`.
async fn bounded(call: impl FnOnce() -> OTelSdkResult + Send + 'static) -> anyhow::Result<()> {
    match tokio::time::timeout(SHUTDOWN_WAIT, tokio::task::spawn_blocking(call)).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(error))) => Err(anyhow!("trace export: {error}")),
        Ok(Err(error)) => Err(anyhow!("trace export: {error}")),
        Err(_) => Err(anyhow!("trace export did not finish within {}s", SHUTDOWN_WAIT.as_secs())),
    }
}

/// The OTLP exporter, logging each kind of failure the first time it
/// happens (a collector that is down would otherwise log every batch).
#[derive(Debug)]
struct LoggedExporter<E> {
    inner: E,
    /// The kinds of failure logged so far.
    reported: Mutex<Vec<&'static str>>,
}

impl<E: SpanExporter> LoggedExporter<E> {
    fn report(&self, error: &opentelemetry_sdk::error::OTelSdkError) {
        use opentelemetry_sdk::error::OTelSdkError;
        let kind = match error {
            OTelSdkError::AlreadyShutdown => "already shut down",
            OTelSdkError::Timeout(_) => "timeout",
            OTelSdkError::InternalFailure(_) => "failure",
        };
        let mut reported = self.reported.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !reported.contains(&kind) {
            reported.push(kind);
            drop(reported);
            tracing::warn!(
                "could not export traces ({kind}): {error}; further failures of this kind are not logged"
            );
        }
    }
}

impl<E: SpanExporter> SpanExporter for LoggedExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        if let Err(error) = &result {
            self.report(error);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Installs the process's subscriber: logs to stderr (JSON lines in
/// production), filtered by `RUST_LOG`, and the trace layer when traces
/// are exported.
pub fn init_subscriber(env: Environment, traces: Option<&Traces>) {
    subscriber(env, traces).init();
}

/// The subscriber [`init_subscriber`] installs.
pub fn subscriber(env: Environment, traces: Option<&Traces>) -> Box<dyn tracing::Subscriber + Send + Sync> {
    let default_filter = match env {
        Environment::Development => "info,storegate=debug",
        Environment::Production => "info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // The SQL and GraphQL operation spans are for traces only: in logs they
    // would add a line's worth of context to every event for nothing.
    let logged = filter.and(filter_fn(|meta| !(meta.is_span() && is_trace_only(meta.target()))));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match env {
        Environment::Production => logs.json().with_current_span(true).with_filter(logged).boxed(),
        Environment::Development => logs.with_filter(logged).boxed(),
    };
    // Not an `Option` layer: with a `None` one the trace-only spans were
    // enabled (the test below caught it).
    match traces {
        Some(traces) => Box::new(Registry::default().with(logs).with(traces.layer())),
        None => Box::new(Registry::default().with(logs)),
    }
}

fn is_trace_only(target: &str) -> bool {
    target == TRACE_ONLY || target.starts_with("sea_orm")
}

/// Names the request span after its route and, when traces are exported,
/// makes it a child of the caller's `traceparent`.
pub fn continue_trace(span: &Span, method: &str, route: Option<&str>, headers: &HeaderMap) {
    if !exporting() {
        return;
    }
    let route = route.unwrap_or("unmatched");
    span.record("otel.name", format!("{method} {route}"));
    span.record("otel.kind", "server");
    span.record("http.route", route);
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    // Fails only for a span already started, which this one is not.
    let _ = span.set_parent(parent);
}

/// A request's headers, as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_endpoint_means_no_traces() {
        assert_eq!(OtlpConfig::from_settings(None, Some("other")).unwrap(), None);
        assert_eq!(OtlpConfig::from_settings(Some("  "), None).unwrap(), None);
    }

    #[test]
    fn the_endpoint_is_a_base_url_and_the_service_name_defaults() {
        let config = OtlpConfig::from_settings(Some("http://localhost:4318/"), None).unwrap().unwrap();
        assert_eq!(config.traces_url(), "http://localhost:4318/v1/traces");
        assert_eq!(config.service_name, "storegate");
        let config =
            OtlpConfig::from_settings(Some("https://otel.example/p"), Some("shop")).unwrap().unwrap();
        assert_eq!(config.traces_url(), "https://otel.example/p/v1/traces");
        assert_eq!(config.service_name, "shop");
    }

    #[derive(Debug)]
    struct Refusing;

    impl SpanExporter for Refusing {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure("connection refused".into()))
        }
    }

    /// A collector that is down fails every batch: the first failure of a
    /// kind is logged, the rest are not, and each is returned, not raised.
    #[tokio::test]
    async fn export_failures_are_logged_once_per_kind() {
        let exporter = LoggedExporter { inner: Refusing, reported: Mutex::new(Vec::new()) };
        for _ in 0..3 {
            assert!(exporter.export(Vec::new()).await.is_err());
        }
        assert_eq!(*exporter.reported.lock().unwrap(), ["failure"]);
    }

    /// Unset, the spans only traces want are disabled where they are made
    /// (they cost a check of the call site's interest); requests keep
    /// their log span.
    #[test]
    fn without_traces_sql_and_operation_spans_are_not_created() {
        tracing::subscriber::with_default(subscriber(Environment::Production, None), || {
            let sql = tracing::info_span!(target: "sea_orm::database::db_connection", "sea_orm.query_all");
            assert!(sql.is_disabled());
            assert!(tracing::info_span!(target: TRACE_ONLY, "graphql").is_disabled());
            assert!(!tracing::info_span!(target: "storegate::observability", "request").is_disabled());
        });
        assert!(!exporting());
    }

    #[test]
    fn an_unusable_endpoint_is_refused_saying_what_to_set() {
        for endpoint in ["localhost:4318", "ftp://collector", "http://", "not a url", "http://h:4318/?x=1"] {
            let error = OtlpConfig::from_settings(Some(endpoint), None).unwrap_err().to_string();
            assert!(error.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT"), "{endpoint}: {error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
