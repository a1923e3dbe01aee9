//! Malformed requests never reach a 500: each gets its problem+json (REST)
//! or a coded GraphQL error.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::common::TestApp;

fn raw(method: Method, uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_media_type_is_415() {
    let app = TestApp::new().await;
    let token = app.user_token("e@example.com").await;
    let mut bad = raw(Method::POST, "/api/stores", Some("application/json"), "{\"name\": ");
    bad.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    app.send(bad).await.assert_problem(StatusCode::BAD_REQUEST, "BAD_REQUEST");

    let not_object = raw(Method::POST, "/api/auth/signup", Some("application/json"), "[1, 2]");
    app.send(not_object).await.assert_problem(StatusCode::BAD_REQUEST, "BAD_REQUEST");

    let text = raw(Method::POST, "/api/auth/signup", Some("text/plain"), "hello");
    app.send(text).await.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    let none = raw(Method::POST, "/api/auth/login", None, "{}");
    app.send(none).await.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = TestApp::new().await;
    let huge = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(1024 * 1024 + 10));
    let res = app.send(raw(Method::POST, "/api/auth/signup", Some("application/json"), huge.clone())).await;
    res.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    // Streamed (no Content-Length) and declared up front: both refused.
    let gql = app.send(raw(Method::POST, "/graphql", Some("application/json"), huge.clone())).await;
    assert_eq!(gql.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", gql.text);
    let mut declared = raw(Method::POST, "/graphql", Some("application/json"), huge.clone());
    declared.headers_mut().insert(header::CONTENT_LENGTH, huge.len().into());
    assert_eq!(app.send(declared).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unsupported_methods_are_405_with_allow() {
    let app = TestApp::new().await;
    let res = app.delete("/api/stores", None).await;
    res.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert_eq!(res.header("allow"), Some("GET,HEAD,POST"));
    let res = app.call(Method::POST, "/api/items/1", None, Some(json!({}))).await;
    res.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    let allow = res.header("allow").unwrap();
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
}

#[tokio::test]
async fn unknown_routes_and_ids_are_404_problems() {
    let app = TestApp::new().await;
    app.get("/api/nothing-here", None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get("/api/stores/abc", None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get("/api/stores/99999999999", None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get("/api/items/424242", None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn graphql_over_get_runs_queries_but_never_mutations() {
    let app = TestApp::new().await;
    let query = app.get("/graphql?query=%7B%20stores%20%7B%20nodes%20%7B%20id%20%7D%20%7D%20%7D", None).await;
    assert_eq!(query.status, StatusCode::OK, "{}", query.text);
    assert_eq!(query.body["data"]["stores"]["nodes"], json!([]));

    let mutation = app.get("/graphql?query=mutation%20%7B%20deleteStore(id%3A%201)%20%7D", None).await;
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.header("allow"), Some("POST"));
    assert_eq!(mutation.gql_code(), Some("METHOD_NOT_ALLOWED"));
}

#[tokio::test]
async fn broken_graphql_requests_get_graphql_errors_not_500s() {
    let app = TestApp::new().await;
    let garbage = app.send(raw(Method::POST, "/graphql", Some("application/json"), "{not json")).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.gql_code(), Some("BAD_REQUEST"));

    let syntax = app.gql("{ stores { nodes { id }", json!({}), None).await;
    assert!(syntax.status.is_success() || syntax.status.is_client_error());
    assert!(syntax.body["errors"][0]["message"].is_string(), "{}", syntax.text);

    let bad_id = app.gql("{ store(id: \"not-a-number\") { id } }", json!({}), None).await;
    assert_eq!(bad_id.body["data"]["store"], serde_json::Value::Null);
}

#[tokio::test]
async fn browsers_get_graphiql() {
    let app = TestApp::new().await;
    let request =
        Request::builder().uri("/graphql").header(header::ACCEPT, "text/html").body(Body::empty()).unwrap();
    let res = app.send(request).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    assert!(res.text.contains("graphiql"), "{}", &res.text[..200.min(res.text.len())]);
}

fn authorized(mut request: Request<Body>, token: &str) -> Request<Body> {
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    request
}

/// A body is exactly one JSON value: bytes after it (other than
/// whitespace) are a 400 on every JSON route, and nothing is written.
#[tokio::test]
async fn bytes_after_the_json_value_are_400_and_nothing_is_written() {
    let app = TestApp::new().await;
    let token = app.user_token("trailing@example.com").await;
    for body in [r#"{"name":"abc"} xyz"#, r#"{"name":"abc"}{"name":"def"}"#, r#"{"name":"abc"} }"#] {
        let create = raw(Method::POST, "/api/stores", Some("application/json"), body);
        let res = app.send(authorized(create, &token)).await;
        res.assert_problem(StatusCode::BAD_REQUEST, "BAD_REQUEST");
        assert!(res.body["detail"].as_str().unwrap().contains("trailing"), "{}", res.text);
    }
    // A type error before the garbage does not make it a 422: the body is
    // not JSON at all.
    let typed = raw(Method::POST, "/api/stores", Some("application/json"), r#"{"name": 5} xyz"#);
    app.send(authorized(typed, &token)).await.assert_problem(StatusCode::BAD_REQUEST, "BAD_REQUEST");
    assert_eq!(app.get("/api/stores", None).await.body["data"], json!([]), "nothing was created");

    let id = app.store(&token, "Kept").await;
    for method in [Method::PUT, Method::PATCH] {
        let update = raw(
            method.clone(),
            &format!("/api/stores/{id}"),
            Some("application/json"),
            r#"{"name":"Renamed"} 1"#,
        );
        app.send(authorized(update, &token)).await.assert_problem(StatusCode::BAD_REQUEST, "BAD_REQUEST");
    }
    assert_eq!(app.get(&format!("/api/stores/{id}"), None).await.body["name"], "Kept");

    // Whitespace after the value is still one value.
    let spaced = raw(Method::POST, "/api/stores", Some("application/json"), "{\"name\":\"Spaced\"} \r\n\t ");
    assert_eq!(app.send(authorized(spaced, &token)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn graphql_bodies_are_one_json_value_too() {
    let app = TestApp::new().await;
    let token = app.user_token("trailing-gql@example.com").await;
    let mutation = r#"{"query":"mutation { createStore(input: {name: \"Sneaky\"}) { id } }"} xyz"#;
    let res =
        app.send(authorized(raw(Method::POST, "/graphql", Some("application/json"), mutation), &token)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.gql_code(), Some("BAD_REQUEST"), "{}", res.text);
    let batch = r#"[{"query":"{ __typename }"}] []"#;
    let res = app.send(raw(Method::POST, "/graphql", Some("application/json"), batch)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.gql_code(), Some("BAD_REQUEST"), "{}", res.text);
    assert_eq!(app.get("/api/stores", None).await.body["data"], json!([]), "nothing was created");

    let spaced =
        raw(Method::POST, "/graphql", Some("application/json"), "{\"query\":\"{ __typename }\"}\n  ");
    let res = app.send(spaced).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["data"]["__typename"], "Query");
}
