//! The OpenAPI document committed at the repo root must equal what the code
//! prints, and the server must serve that same document (and Swagger UI).
//!
//! To refresh the file: `cargo run -q -- schema openapi > openapi.json`,
//! or `UPDATE_OPENAPI=1 cargo test --test openapi_file`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use storegate::config::Config;
use storegate::{AppState, app, db};
use tower::ServiceExt;

const OPENAPI_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

fn updating() -> bool {
    std::env::var("UPDATE_OPENAPI").is_ok_and(|value| value == "1")
}

#[test]
fn openapi_json_is_up_to_date() {
    if updating() {
        return; // `update_openapi_json_when_asked` rewrites the file instead.
    }
    let expected = storegate::openapi::to_json();
    let committed = std::fs::read_to_string(OPENAPI_JSON).unwrap_or_default().replace("\r\n", "\n");
    if committed != expected {
        let shorter = committed.lines().count().min(expected.lines().count());
        let line = committed.lines().zip(expected.lines()).position(|(a, b)| a != b).unwrap_or(shorter);
        panic!(
            "{} is stale (first difference at line {}).\n\
             Regenerate it with:\n\n    cargo run -q -- schema openapi > openapi.json\n\n\
             (or UPDATE_OPENAPI=1 cargo test --test openapi_file) and commit the result.",
            OPENAPI_JSON,
            line + 1,
        );
    }
}

#[test]
fn update_openapi_json_when_asked() {
    if updating() {
        std::fs::write(OPENAPI_JSON, storegate::openapi::to_json()).expect("could not write openapi.json");
    }
}

#[test]
fn the_document_is_openapi_3_1_with_every_rest_route() {
    let document = serde_json::to_value(storegate::openapi::document()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let expected = [
        ("/api/auth/signup", &["post"][..]),
        ("/api/auth/login", &["post"]),
        ("/api/auth/refresh", &["post"]),
        ("/api/auth/logout", &["post"]),
        ("/api/auth/logout-all", &["post"]),
        ("/api/auth/password", &["post"]),
        ("/api/auth/me", &["get"]),
        ("/api/stores", &["get", "post"]),
        ("/api/stores/{id}", &["get", "put", "patch", "delete"]),
        ("/api/items", &["get", "post"]),
        ("/api/items/{id}", &["get", "put", "patch", "delete"]),
        ("/api/factories", &["get", "post"]),
        ("/api/factories/{id}", &["get", "put", "patch", "delete"]),
        ("/api/products", &["get", "post"]),
        ("/api/products/{id}", &["get", "put", "patch", "delete"]),
        ("/api/todos", &["get", "post"]),
        ("/api/todos/{id}", &["get", "patch", "delete"]),
    ];
    let paths = document["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), expected.len(), "{:?}", paths.keys().collect::<Vec<_>>());
    for (path, methods) in expected {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"));
        let mut documented: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut wanted = methods.to_vec();
        wanted.sort_unstable();
        assert_eq!(documented, wanted, "{path}");
        for method in methods {
            let operation = &item[*method];
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("503"), "{method} {path} documents no 503");
            assert!(responses.contains_key("401"), "{method} {path} documents no 401");
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path} documents no success"
            );
        }
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
}

async fn test_app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("openapi.db").display());
    let connection = db::connect(&url).await.expect("database opens");
    db::migrate(&connection).await.expect("migrations run");
    let config = Config::for_database(url, b"openapi-test-secret-of-at-least-32-bytes".to_vec());
    let state = AppState::new(connection, config).expect("state builds");
    (app(state), dir)
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let response = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .expect("the router answers");
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, content_type, body)
}

#[tokio::test]
async fn the_server_serves_the_same_document() {
    let (router, _dir) = test_app().await;
    let (status, content_type, body) = get(&router, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.is_some_and(|ct| ct.starts_with("application/json")));
    let served: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let expected = serde_json::to_value(storegate::openapi::document()).unwrap();
    assert_eq!(served, expected);
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let (router, _dir) = test_app().await;
    let (status, content_type, body) = get(&router, "/api/docs/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.is_some_and(|ct| ct.starts_with("text/html")));
    let page = String::from_utf8(body).expect("UTF-8");
    assert!(page.contains("swagger-ui"), "{page}");

    // The page's own assets and its configuration, which points at the
    // document and keeps "Authorize" across reloads.
    for asset in ["/api/docs/swagger-ui.css", "/api/docs/swagger-ui-bundle.js"] {
        let (status, _, body) = get(&router, asset).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(!body.is_empty(), "{asset}");
    }
    let (status, _, body) = get(&router, "/api/docs/swagger-initializer.js").await;
    assert_eq!(status, StatusCode::OK);
    let script = String::from_utf8(body).unwrap();
    assert!(script.contains("/api/openapi.json"), "{script}");
    assert!(script.contains("\"persistAuthorization\": true") || script.contains("persistAuthorization"));

    // Without the trailing slash: a redirect to the page.
    let (status, _, _) = get(&router, "/api/docs").await;
    assert!(status.is_redirection(), "{status}");
}

#[tokio::test]
async fn the_docs_ignore_a_stale_bearer_token() {
    // Swagger UI keeps the token it was given; the docs must still load
    // after that token expires or is revoked.
    let (router, _dir) = test_app().await;
    let response = router
        .clone()
        .oneshot(
            Request::get("/api/openapi.json")
                .header(header::AUTHORIZATION, "Bearer not-a-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
