//! What operators rely on: health and readiness, metrics, request ids in
//! responses and problem bodies, CORS and compression.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use storegate::config::{CorsOrigins, Environment};

use crate::common::TestApp;

#[tokio::test]
async fn health_and_readiness_name_their_checks() {
    let app = TestApp::new().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, json!({ "status": "ok" }));

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.body["status"], "ready");
    let names: Vec<&str> =
        ready.body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "migrations"]);

    let with_dead_redis = TestApp::with_config(|c| c.redis_url = Some("redis://127.0.0.1:1".into())).await;
    let unready = with_dead_redis.get("/readyz", None).await;
    assert_eq!(unready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(unready.header("retry-after").is_some());
    let redis =
        unready.body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "redis").unwrap().clone();
    assert_eq!(redis["ok"], false);
    assert_eq!(with_dead_redis.get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_pool_use_and_graphql_operations() {
    let app = TestApp::new().await;
    app.get("/api/stores", None).await;
    app.get("/api/stores/12345", None).await;
    app.gql("query ListStores { stores { nodes { id } } }", json!({}), None).await;
    let purge = Request::builder()
        .method(Method::from_bytes(b"PURGE").unwrap())
        .uri("/api/stores")
        .body(Body::empty())
        .unwrap();
    app.send(purge).await.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    // This app's own recorder: the counts are exactly its requests, not
    // those of the tests running beside it.
    let text = &metrics.text;
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/stores",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/stores/{id}",status="404"} 1"#), "{text}");
    // Methods a client makes up share one label, so they cannot grow the
    // series without bound.
    assert!(text.contains(r#"method="OTHER",route="/api/stores",status="405"} 1"#), "{text}");
    assert!(!text.contains("PURGE"), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"db_pool_connections{state="in_use"}"#), "{text}");
    assert!(
        text.contains(
            r#"graphql_operations_total{operation="ListStores",type="operation",rules="checked"} 1"#
        ),
        "{text}"
    );
}

fn scrape(token: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().uri("/metrics");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, token);
    }
    request.body(Body::empty()).unwrap()
}

/// Production keeps `/metrics` to the holder of `METRICS_TOKEN`; with
/// none configured the route does not exist. Development leaves it open.
#[tokio::test]
async fn production_metrics_need_the_metrics_token() {
    let unset = TestApp::with_config(|c| c.env = Environment::Production).await;
    unset.send(scrape(None)).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let guess = unset.send(scrape(Some("Bearer anything"))).await;
    guess.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");

    let token = "metrics-token-of-some-length-0123456789";
    let app = TestApp::with_config(|c| {
        c.env = Environment::Production;
        c.metrics_token = Some(token.into());
    })
    .await;
    for refused in
        [None, Some("Bearer wrong"), Some(&format!("Bearer {token}x")[..]), Some(token), Some("Bearer ")]
    {
        let res = app.send(scrape(refused)).await;
        res.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"), "{refused:?}");
        assert!(!res.text.contains(token), "the token never appears in an answer");
    }
    let scraped = app.send(scrape(Some(&format!("Bearer {token}")))).await;
    assert_eq!(scraped.status, StatusCode::OK, "{}", scraped.text);
    assert!(scraped.header("content-type").unwrap().starts_with("text/plain"));
    assert!(scraped.text.contains("http_requests_total"), "{}", scraped.text);
    // Other routes do not take the metrics token as a user's token.
    let elsewhere = app.send(authorized_get("/api/stores", token)).await;
    elsewhere.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    let development = TestApp::with_config(|c| c.metrics_token = Some(token.into())).await;
    assert_eq!(development.send(scrape(None)).await.status, StatusCode::OK);
}

fn authorized_get(path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_request_that_outlives_the_timeout_is_a_counted_503_problem() {
    let app = TestApp::with_config(|c| c.request_timeout = std::time::Duration::from_millis(50)).await;
    // A body that never arrives keeps the handler waiting past the timeout,
    // whatever the engine's speed.
    let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/stores")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", "slow-one-7")
        .body(Body::from_stream(never))
        .unwrap();
    let timed_out = app.send(request).await;
    timed_out.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    assert_eq!(timed_out.header("retry-after"), Some("1"));
    assert_eq!(timed_out.body["request_id"], "slow-one-7");
    assert_eq!(app.get("/api/stores", None).await.status, StatusCode::OK, "a quick read still answers");
    let metrics = app.get("/metrics", None).await;
    assert!(
        metrics.text.contains(r#"http_requests_total{method="POST",route="/api/stores",status="503"} 1"#),
        "{}",
        metrics.text
    );
}

#[tokio::test]
async fn every_response_has_a_request_id_and_problems_quote_it() {
    let app = TestApp::new().await;
    let generated = app.get("/api/stores", None).await;
    let id = generated.header("x-request-id").unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let request = Request::builder()
        .uri("/api/stores/999")
        .header("x-request-id", "trace-me-42")
        .body(Body::empty())
        .unwrap();
    let problem = app.send(request).await;
    problem.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(problem.header("x-request-id"), Some("trace-me-42"), "propagated");
    assert_eq!(problem.body["request_id"], "trace-me-42");
    let refused = app.delete("/api/stores", None).await;
    assert_eq!(refused.body["request_id"], refused.header("x-request-id").unwrap());
}

#[tokio::test]
async fn cors_follows_the_configured_origins() {
    let app = TestApp::with_config(|c| {
        c.cors_allowed_origins = CorsOrigins::List(vec!["https://shop.example".into()])
    })
    .await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/stores")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight("https://shop.example")).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://shop.example"));
    assert!(allowed.header("access-control-allow-methods").unwrap().contains("POST"));
    let denied = app.send(preflight("https://evil.example")).await;
    assert_eq!(denied.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn large_responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let request = Request::builder()
        .uri("/api/products?limit=100")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let res = app.send(request).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    let plain = app.get("/api/products?limit=100", None).await;
    assert!(plain.header("content-encoding").is_none());
    assert!(res.text.len() < plain.text.len() / 2, "{} vs {}", res.text.len(), plain.text.len());
}
