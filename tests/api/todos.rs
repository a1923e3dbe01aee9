//! Todos: each user's own, on both faces; status transitions; 405 on the
//! collection.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;

#[tokio::test]
async fn todos_belong_to_their_owner_on_rest() {
    let app = TestApp::new().await;
    let alice = app.user_token("alice@example.com").await;
    let bob = app.user_token("bob@example.com").await;
    let created = app.post("/api/todos", Some(&alice), json!({ "title": "  Buy milk " })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["title"], "Buy milk");
    assert_eq!(created.body["status"], "open");
    assert_eq!(created.body["completed_at"], Value::Null);
    let location = created.header("location").unwrap().to_string();
    assert_eq!(app.get(&location, Some(&alice)).await.body, created.body);

    // Bob cannot see, change or delete it, and learns nothing: 404.
    app.get(&location, Some(&bob)).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.patch(&location, Some(&bob), json!({ "status": "completed" }))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&location, Some(&bob)).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let bobs = app.get("/api/todos", Some(&bob)).await;
    assert_eq!(bobs.body["data"], json!([]));
    // A foreign todo reads exactly like a missing one.
    let foreign = app.get(&location, Some(&bob)).await.body["detail"].as_str().unwrap().to_string();
    let missing = app.get("/api/todos/999999", Some(&bob)).await.body["detail"].as_str().unwrap().to_string();
    assert_eq!(foreign.replace(&created.body["id"].to_string(), "N"), missing.replace("999999", "N"));

    // Anonymous callers get 401.
    app.get("/api/todos", None).await.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.post("/api/todos", None, json!({ "title": "x" }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    assert_eq!(app.get(&location, Some(&alice)).await.body["status"], "open", "bob changed nothing");
    assert_eq!(app.delete(&location, Some(&alice)).await.status, StatusCode::NO_CONTENT);
    app.get(&location, Some(&alice)).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn todos_belong_to_their_owner_on_graphql() {
    let app = TestApp::new().await;
    let alice = app.user_token("alice@example.com").await;
    let bob = app.user_token("bob@example.com").await;
    let created = app
        .gql(
            "mutation { createTodo(input: { title: \"Secret\" }) { id title status completedAt } }",
            json!({}),
            Some(&alice),
        )
        .await;
    let todo = &created.body["data"]["createTodo"];
    assert_eq!(todo["status"], "OPEN", "{}", created.text);
    let id = todo["id"].as_str().unwrap();

    let read = app.gql("query($id: ID!) { todo(id: $id) { title } }", json!({ "id": id }), Some(&bob)).await;
    assert_eq!(read.body["data"]["todo"], Value::Null);
    let list = app.gql("{ todos { nodes { id } } }", json!({}), Some(&bob)).await;
    assert_eq!(list.body["data"]["todos"]["nodes"], json!([]));
    let patch = app
        .gql(
            "mutation($id: ID!) { updateTodo(id: $id, input: { status: COMPLETED }) { id } }",
            json!({ "id": id }),
            Some(&bob),
        )
        .await;
    assert_eq!(patch.gql_code(), Some("NOT_FOUND"));
    let delete = app.gql("mutation($id: ID!) { deleteTodo(id: $id) }", json!({ "id": id }), Some(&bob)).await;
    assert_eq!(delete.gql_code(), Some("NOT_FOUND"));
    assert_eq!(
        app.gql("{ todos { nodes { id } } }", json!({}), None).await.gql_code(),
        Some("UNAUTHENTICATED")
    );

    let mine = app.gql("{ todos { nodes { id title } } }", json!({}), Some(&alice)).await;
    assert_eq!(mine.body["data"]["todos"]["nodes"], json!([{ "id": id, "title": "Secret" }]));
    let gone = app.gql("mutation($id: ID!) { deleteTodo(id: $id) }", json!({ "id": id }), Some(&alice)).await;
    assert_eq!(gone.body["data"]["deleteTodo"], true);
}

#[tokio::test]
async fn completing_sets_and_reopening_clears_completed_at() {
    let app = TestApp::new().await;
    let token = app.user_token("t@example.com").await;
    let id = app.post("/api/todos", Some(&token), json!({ "title": "Ship it" })).await.body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/todos/{id}");
    let done = app.patch(&path, Some(&token), json!({ "status": "completed" })).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "completed");
    let completed_at = done.body["completed_at"].as_str().unwrap().to_string();
    let renamed = app.patch(&path, Some(&token), json!({ "title": "Shipped" })).await;
    assert_eq!(renamed.body["completed_at"], completed_at.as_str(), "a title edit keeps completed_at");
    let reopened = app.patch(&path, Some(&token), json!({ "status": "open" })).await;
    assert_eq!(
        (reopened.body["status"].clone(), reopened.body["completed_at"].clone()),
        (json!("open"), Value::Null)
    );

    let gql = app
        .gql(
            "mutation($id: ID!) { updateTodo(id: $id, input: { status: COMPLETED }) { status completedAt } }",
            json!({ "id": id.to_string() }),
            Some(&token),
        )
        .await;
    assert_eq!(gql.body["data"]["updateTodo"]["status"], "COMPLETED");
    assert!(gql.body["data"]["updateTodo"]["completedAt"].is_string());
    let rest = app.get(&path, Some(&token)).await;
    assert_eq!(rest.body["completed_at"], gql.body["data"]["updateTodo"]["completedAt"], "parity");

    let bad = app.patch(&path, Some(&token), json!({ "status": "done", "title": "" })).await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    let nulls = app.patch(&path, Some(&token), json!({ "status": null, "title": null })).await;
    assert_eq!(nulls.error_fields(), ["status", "title"]);
    let long = app.post("/api/todos", Some(&token), json!({ "title": "x".repeat(201) })).await;
    assert_eq!(long.body["errors"][0], json!({ "field": "title", "message": "must be 1 to 200 characters" }));
    assert_eq!(
        app.post("/api/todos", Some(&token), json!({ "title": "ü".repeat(200) })).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn todos_filter_by_status_page_and_refuse_collection_delete() {
    let app = TestApp::new().await;
    let token = app.user_token("f@example.com").await;
    let mut open = Vec::new();
    for n in 0..5 {
        let id = app.post("/api/todos", Some(&token), json!({ "title": format!("t{n}") })).await.body["id"]
            .as_i64()
            .unwrap();
        if n % 2 == 0 {
            app.patch(&format!("/api/todos/{id}"), Some(&token), json!({ "status": "completed" })).await;
        } else {
            open.push(id);
        }
    }
    let res = app.get("/api/todos?status=open", Some(&token)).await;
    let ids: Vec<i64> =
        res.body["data"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, open);
    let page = app.get("/api/todos?status=completed&limit=2", Some(&token)).await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert!(page.header("link").unwrap().contains("status=completed"));
    app.get("/api/todos?status=maybe", Some(&token))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    let gql = app.gql("{ todos(status: COMPLETED) { nodes { status } } }", json!({}), Some(&token)).await;
    assert_eq!(gql.body["data"]["todos"]["nodes"].as_array().unwrap().len(), 3);

    let refused = app.delete("/api/todos", Some(&token)).await;
    refused.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert_eq!(refused.header("allow"), Some("GET,HEAD,POST"));
    assert_eq!(app.get("/api/todos?limit=100", Some(&token)).await.body["data"].as_array().unwrap().len(), 5);
}
