//! Items over REST and GraphQL: fresh tokens, store owners (see also
//! ownership.rs), validation of every field at once, exact prices, filters.

use axum::http::StatusCode;
use serde_json::{Value, json};
use storegate::auth::TokenKind;

use crate::common::TestApp;

/// A valid access token for the same user that is not fresh (as a refresh
/// would mint).
async fn stale_token(app: &TestApp, fresh: &str, roles: &[&str]) -> String {
    let id = app.get("/api/auth/me", Some(fresh)).await.body["id"].as_i64().unwrap() as i32;
    app.issue(id, roles, TokenKind::Access, false).token
}

#[tokio::test]
async fn item_permissions_follow_the_table_on_rest() {
    let app = TestApp::new().await;
    let user = app.user_token("user@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let stale = stale_token(&app, &user, &["user"]).await;
    let stale_admin = stale_token(&app, &admin, &["user", "admin"]).await;
    let store = app.store(&user, "Shop").await;
    let body = json!({ "name": "Widget", "price": 3.5, "store_id": store });

    app.post("/api/items", None, body.clone())
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    for token in [&stale, &stale_admin] {
        let res = app.post("/api/items", Some(token), body.clone()).await;
        res.assert_problem(StatusCode::UNAUTHORIZED, "FRESH_TOKEN_REQUIRED");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    }
    let id = app.item(&user, store, "Widget", 3.5).await;
    let path = format!("/api/items/{id}");

    assert_eq!(app.get(&path, None).await.status, StatusCode::OK);
    app.patch(&path, None, json!({ "price": 4 }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.patch(&path, Some(&stale), json!({ "price": 4 }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "FRESH_TOKEN_REQUIRED");
    let patched = app.patch(&path, Some(&user), json!({ "price": 4 })).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["price"], 4.0);
    assert_eq!(patched.body["name"], "Widget", "PATCH keeps absent fields");

    // Another user may not touch the items of a store they do not own.
    let other = app.user_token("other@example.com").await;
    app.post("/api/items", Some(&other), body.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.patch(&path, Some(&other), json!({ "price": 5 }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.delete(&path, Some(&other)).await.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");

    // Deleting needs the store's owner or an admin, fresh or not.
    app.delete(&path, None).await.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(app.delete(&path, Some(&stale_admin)).await.status, StatusCode::NO_CONTENT);
    app.get(&path, None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    let second = app.item(&user, store, "Second", 1.0).await;
    assert_eq!(
        app.delete(&format!("/api/items/{second}"), Some(&stale)).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn item_permissions_follow_the_table_on_graphql() {
    let app = TestApp::new().await;
    let user = app.user_token("user@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let stale = stale_token(&app, &user, &["user"]).await;
    let store = app.store(&user, "Shop").await.to_string();
    let create = "mutation($s: ID!) { createItem(input: { name: \"Gadget\", price: 9.99, storeId: $s }) { id price storeId } }";

    assert_eq!(app.gql(create, json!({ "s": store }), None).await.gql_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        app.gql(create, json!({ "s": store }), Some(&stale)).await.gql_code(),
        Some("FRESH_TOKEN_REQUIRED")
    );
    let created = app.gql(create, json!({ "s": store }), Some(&user)).await;
    let item = &created.body["data"]["createItem"];
    assert_eq!(item["price"], 9.99, "{}", created.text);
    assert_eq!(item["storeId"], store.as_str());
    let id = item["id"].as_str().unwrap();

    let update = "mutation($id: ID!) { updateItem(id: $id, input: { price: 10.5 }) { name price } }";
    assert_eq!(
        app.gql(update, json!({ "id": id }), Some(&stale)).await.gql_code(),
        Some("FRESH_TOKEN_REQUIRED")
    );
    let updated = app.gql(update, json!({ "id": id }), Some(&user)).await;
    assert_eq!(updated.body["data"]["updateItem"], json!({ "name": "Gadget", "price": 10.5 }));

    let other = app.user_token("other@example.com").await;
    assert_eq!(app.gql(create, json!({ "s": store }), Some(&other)).await.gql_code(), Some("FORBIDDEN"));
    assert_eq!(app.gql(update, json!({ "id": id }), Some(&other)).await.gql_code(), Some("FORBIDDEN"));
    let delete = "mutation($id: ID!) { deleteItem(id: $id) }";
    assert_eq!(app.gql(delete, json!({ "id": id }), Some(&other)).await.gql_code(), Some("FORBIDDEN"));
    assert_eq!(app.gql(delete, json!({ "id": id }), Some(&admin)).await.body["data"]["deleteItem"], true);
    let gone = app.gql("query($id: ID!) { item(id: $id) { id } }", json!({ "id": id }), None).await;
    assert_eq!(gone.body["data"]["item"], Value::Null);
}

#[tokio::test]
async fn every_failing_item_field_is_reported_at_once() {
    let app = TestApp::new().await;
    let token = app.user_token("v@example.com").await;
    let res = app.post("/api/items", Some(&token), json!({ "name": "", "price": -1, "store_id": 999 })).await;
    res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(
        res.body["errors"],
        json!([
            { "field": "name", "message": "must be 1 to 80 characters" },
            { "field": "price", "message": "must be at least 0" },
            { "field": "store_id", "message": "no store with this id" },
        ])
    );
    let missing = app.post("/api/items", Some(&token), json!({})).await;
    assert_eq!(missing.error_fields(), ["name", "price", "store_id"]);
    let cents =
        app.post("/api/items", Some(&token), json!({ "name": "x", "price": 1.005, "store_id": 999 })).await;
    assert_eq!(
        cents.body["errors"][0],
        json!({ "field": "price", "message": "must have at most 2 decimal places" })
    );
    let typed =
        app.post("/api/items", Some(&token), json!({ "name": "x", "price": "free", "store_id": 1 })).await;
    typed.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(typed.error_fields(), ["price"]);

    let gql = app
        .gql(
            "mutation { createItem(input: { name: \"\", price: -1, storeId: \"999\" }) { id } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(gql.gql_code(), Some("BAD_USER_INPUT"));
    assert_eq!(gql.gql_fields(), ["name", "price", "storeId"]);
    assert_eq!(
        gql.body["errors"][0]["extensions"]["fields"][1]["message"], res.body["errors"][1]["message"],
        "same messages on both faces"
    );
}

#[tokio::test]
async fn prices_round_trip_exactly() {
    let app = TestApp::new().await;
    let token = app.user_token("money@example.com").await;
    let store = app.store(&token, "Till").await;
    for price in [12.99, 0.1, 0.29, 19.9, 1000000.01, 0.0] {
        let id = app.item(&token, store, "Thing", price).await;
        let rest = app.get(&format!("/api/items/{id}"), None).await;
        assert_eq!(rest.body["price"].as_f64(), Some(price));
        let text = &rest.text;
        let shown = format!("\"price\":{price:?}");
        assert!(text.contains(&shown), "{text} should contain {shown}");
        let gql = app
            .gql("query($id: ID!) { item(id: $id) { price } }", json!({ "id": id.to_string() }), None)
            .await;
        assert_eq!(gql.body["data"]["item"]["price"].as_f64(), Some(price));
    }
    let stored: i64 = {
        use sea_orm::EntityTrait;
        let id = app.item(&token, store, "Exact", 12.99).await;
        entity::item::Entity::find_by_id(id as i32).one(&app.db).await.unwrap().unwrap().price_cents
    };
    assert_eq!(stored, 1299, "stored as integer cents");
}

#[tokio::test]
async fn items_filter_by_store_and_validate_the_filter() {
    let app = TestApp::new().await;
    let token = app.user_token("f@example.com").await;
    let a = app.store(&token, "A").await;
    let b = app.store(&token, "B").await;
    let in_a = [app.item(&token, a, "a1", 1.0).await, app.item(&token, a, "a2", 2.0).await];
    app.item(&token, b, "b1", 3.0).await;
    let res = app.get(&format!("/api/items?store_id={a}"), None).await;
    let ids: Vec<i64> =
        res.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, in_a);
    assert_eq!(res.body["next_cursor"], Value::Null);
    assert!(res.header("link").is_none());

    let paged = app.get(&format!("/api/items?store_id={a}&limit=1"), None).await;
    let link = paged.header("link").unwrap();
    assert!(link.contains(&format!("store_id={a}")) && link.contains("limit=1"), "{link}");

    app.get("/api/items?store_id=abc", None)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");

    let gql = app
        .gql(
            "query($s: ID) { items(storeId: $s) { nodes { id name } } }",
            json!({ "s": a.to_string() }),
            None,
        )
        .await;
    let names: Vec<&str> = gql.body["data"]["items"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a1", "a2"]);
}

#[tokio::test]
async fn put_replaces_and_patch_moves_between_stores() {
    let app = TestApp::new().await;
    let token = app.user_token("m@example.com").await;
    let a = app.store(&token, "A").await;
    let b = app.store(&token, "B").await;
    let id = app.item(&token, a, "Thing", 1.0).await;
    let path = format!("/api/items/{id}");
    let partial = app.put(&path, Some(&token), json!({ "name": "Only name" })).await;
    partial.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(partial.error_fields(), ["price", "store_id"]);
    let put = app.put(&path, Some(&token), json!({ "name": "New", "price": 2.25, "store_id": b })).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(
        (put.body["name"].clone(), put.body["price"].clone(), put.body["store_id"].clone()),
        (json!("New"), json!(2.25), json!(b))
    );
    let store_b = app.get(&format!("/api/stores/{b}"), None).await;
    assert_eq!(store_b.body["items"], json!([{ "id": id, "name": "New", "price": 2.25 }]));
    let bad_move = app.patch(&path, Some(&token), json!({ "store_id": 12345 })).await;
    assert_eq!(bad_move.error_fields(), ["store_id"]);
    app.patch("/api/items/999999", Some(&token), json!({ "price": 1 }))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}
