//! Stores over REST and GraphQL: the permission table (owners, see also
//! ownership.rs), validation,
//! conflicts, embedding, deletion, and pagination.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;

#[tokio::test]
async fn create_returns_201_with_location_and_the_body_of_a_later_get() {
    let app = TestApp::new().await;
    let token = app.user_token("owner@example.com").await;
    let created = app.post("/api/stores", Some(&token), json!({ "name": "  Corner Shop  " })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["name"], "Corner Shop", "names are trimmed");
    let location = created.header("location").unwrap().to_string();
    assert_eq!(location, format!("/api/stores/{}", created.body["id"]));
    let fetched = app.get(&location, None).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, created.body);
    assert_eq!(fetched.body["items"], json!([]));
    assert!(fetched.body["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn store_permissions_follow_the_table_on_rest() {
    let app = TestApp::new().await;
    let user = app.user_token("user@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let id = app.store(&user, "Mine").await;
    let path = format!("/api/stores/{id}");

    // Anonymous: read yes, write 401.
    assert_eq!(app.get("/api/stores", None).await.status, StatusCode::OK);
    assert_eq!(app.get(&path, None).await.status, StatusCode::OK);
    app.post("/api/stores", None, json!({ "name": "x" }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.put(&path, None, json!({ "name": "x" }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.patch(&path, None, json!({ "name": "x" }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.delete(&path, None).await.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    // The owner (its creator): update yes.
    let put = app.put(&path, Some(&user), json!({ "name": "Renamed" })).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["name"], "Renamed");
    let patched = app.patch(&path, Some(&user), json!({})).await;
    assert_eq!(patched.body["name"], "Renamed", "an empty PATCH changes nothing");
    // Another user: every write 403, nothing changed.
    let other = app.user_token("other@example.com").await;
    app.put(&path, Some(&other), json!({ "name": "Theirs" }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.patch(&path, Some(&other), json!({ "name": "Theirs" }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.delete(&path, Some(&other)).await.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(app.get(&path, None).await.body["name"], "Renamed");

    // Admin: delete yes, then 404.
    let deleted = app.delete(&path, Some(&admin)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    app.get(&path, None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&path, Some(&admin)).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn store_permissions_follow_the_table_on_graphql() {
    let app = TestApp::new().await;
    let user = app.user_token("user@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let create = "mutation($n: String!) { createStore(input: { name: $n }) { id name } }";

    let anonymous = app.gql(create, json!({ "n": "Anon" }), None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.gql_code(), Some("UNAUTHENTICATED"));
    assert_eq!(anonymous.body["data"], Value::Null);

    let created = app.gql(create, json!({ "n": "Gql Shop" }), Some(&user)).await;
    let id = created.body["data"]["createStore"]["id"].as_str().unwrap().to_string();

    let update = "mutation($id: ID!) { updateStore(id: $id, input: { name: \"Updated\" }) { name } }";
    assert_eq!(app.gql(update, json!({ "id": id }), None).await.gql_code(), Some("UNAUTHENTICATED"));
    let updated = app.gql(update, json!({ "id": id }), Some(&user)).await;
    assert_eq!(updated.body["data"]["updateStore"]["name"], "Updated");

    let other = app.user_token("other@example.com").await;
    assert_eq!(app.gql(update, json!({ "id": id }), Some(&other)).await.gql_code(), Some("FORBIDDEN"));

    let delete = "mutation($id: ID!) { deleteStore(id: $id) }";
    assert_eq!(app.gql(delete, json!({ "id": id }), None).await.gql_code(), Some("UNAUTHENTICATED"));
    assert_eq!(app.gql(delete, json!({ "id": id }), Some(&other)).await.gql_code(), Some("FORBIDDEN"));
    let deleted = app.gql(delete, json!({ "id": id }), Some(&admin)).await;
    assert_eq!(deleted.body["data"]["deleteStore"], true);
    assert_eq!(app.gql(delete, json!({ "id": id }), Some(&admin)).await.gql_code(), Some("NOT_FOUND"));

    let gone = app.gql("query($id: ID!) { store(id: $id) { id } }", json!({ "id": id }), None).await;
    assert_eq!(gone.body["data"]["store"], Value::Null);
    assert!(gone.body.get("errors").is_none());
}

#[tokio::test]
async fn store_names_are_validated_and_unique_case_insensitively() {
    let app = TestApp::new().await;
    let token = app.user_token("v@example.com").await;
    for bad in [json!({ "name": "   " }), json!({ "name": "x".repeat(81) }), json!({})] {
        let res = app.post("/api/stores", Some(&token), bad.clone()).await;
        res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
        assert_eq!(res.error_fields(), ["name"], "{bad}");
    }
    // 80 characters, counted as characters, not bytes.
    let long = "é".repeat(80);
    assert_eq!(
        app.post("/api/stores", Some(&token), json!({ "name": long })).await.status,
        StatusCode::CREATED
    );

    app.store(&token, "Acme").await;
    let dup = app.post("/api/stores", Some(&token), json!({ "name": "ACME " })).await;
    dup.assert_problem(StatusCode::CONFLICT, "CONFLICT");
    let other = app.store(&token, "Other").await;
    app.put(&format!("/api/stores/{other}"), Some(&token), json!({ "name": "acme" }))
        .await
        .assert_problem(StatusCode::CONFLICT, "CONFLICT");
    let gql =
        app.gql("mutation { createStore(input: { name: \"aCmE\" }) { id } }", json!({}), Some(&token)).await;
    assert_eq!(gql.gql_code(), Some("CONFLICT"));
}

#[tokio::test]
async fn patch_null_on_a_required_field_and_put_without_it_are_422() {
    let app = TestApp::new().await;
    let token = app.user_token("p@example.com").await;
    let id = app.store(&token, "Keep").await;
    let path = format!("/api/stores/{id}");
    let null = app.patch(&path, Some(&token), json!({ "name": null })).await;
    null.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(null.body["errors"][0]["message"], "must not be null");
    let missing = app.put(&path, Some(&token), json!({})).await;
    missing.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(missing.body["errors"][0], json!({ "field": "name", "message": "is required" }));
    assert_eq!(app.get(&path, None).await.body["name"], "Keep", "nothing changed");

    let gql_null = app
        .gql(
            "mutation($id: ID!) { updateStore(id: $id, input: { name: null }) { name } }",
            json!({ "id": id.to_string() }),
            Some(&token),
        )
        .await;
    assert_eq!(gql_null.gql_code(), Some("BAD_USER_INPUT"));
    assert_eq!(gql_null.body["errors"][0]["extensions"]["fields"][0]["message"], "must not be null");
}

#[tokio::test]
async fn deleting_a_store_removes_its_items() {
    let app = TestApp::new().await;
    let user = app.user_token("u@example.com").await;
    let admin = app.admin_token("a@example.com").await;
    let store = app.store(&user, "Doomed").await;
    let keep = app.store(&user, "Kept").await;
    let item = app.item(&user, store, "Gone", 1.0).await;
    let kept_item = app.item(&user, keep, "Stays", 2.0).await;
    assert_eq!(
        app.delete(&format!("/api/stores/{store}"), Some(&admin)).await.status,
        StatusCode::NO_CONTENT
    );
    app.get(&format!("/api/items/{item}"), None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(app.get(&format!("/api/items/{kept_item}"), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn rest_pages_walk_every_store_once_and_link_to_the_next_page() {
    let app = TestApp::new().await;
    let token = app.user_token("pager@example.com").await;
    let mut expected = Vec::new();
    for n in 0..7 {
        expected.push(app.store(&token, &format!("Store {n}")).await);
    }
    let first = app.get("/api/stores?limit=3", None).await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 3);
    let link = first.header("link").unwrap().to_string();
    assert!(link.starts_with("</api/stores?limit=3&cursor=") && link.ends_with(">; rel=\"next\""), "{link}");

    // Follow Link headers; insert a store mid-walk: it appears exactly once.
    let mut seen = Vec::new();
    let mut next = Some("/api/stores?limit=3".to_string());
    let mut inserted = false;
    while let Some(url) = next {
        let page = app.get(&url, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for store in page.body["data"].as_array().unwrap() {
            seen.push(store["id"].as_i64().unwrap());
        }
        if !inserted {
            expected.push(app.store(&token, "Late arrival").await);
            inserted = true;
        }
        // The header may also link the previous page (`rel="prev"`).
        next = page.header("link").and_then(|links| {
            links
                .split(", ")
                .find(|link| link.ends_with("rel=\"next\""))
                .map(|link| link.trim_start_matches('<').split('>').next().unwrap().to_string())
        });
        assert_eq!(page.body["next_cursor"].is_string(), next.is_some());
    }
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

#[tokio::test]
async fn graphql_connections_walk_every_store_once() {
    let app = TestApp::new().await;
    let token = app.user_token("pager@example.com").await;
    let mut expected = Vec::new();
    for n in 0..5 {
        expected.push(app.store(&token, &format!("S{n}")).await.to_string());
    }
    let query = "query($after: String) { stores(first: 2, after: $after) { edges { cursor node { id } } nodes { id } pageInfo { hasNextPage endCursor } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    loop {
        let res = app.gql(query, json!({ "after": after }), None).await;
        let conn = &res.body["data"]["stores"];
        let edges = conn["edges"].as_array().unwrap();
        for (edge, node) in edges.iter().zip(conn["nodes"].as_array().unwrap()) {
            assert_eq!(edge["node"], *node);
            seen.push(node["id"].as_str().unwrap().to_string());
        }
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        assert_eq!(conn["pageInfo"]["endCursor"], edges.last().unwrap()["cursor"]);
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn limits_and_cursors_are_checked_on_both_faces() {
    let app = TestApp::new().await;
    for query in ["limit=0", "limit=101", "limit=abc", "limit=2.5", "cursor=garbage", "cursor=MTIz"] {
        let res = app.get(&format!("/api/stores?{query}"), None).await;
        res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
        let field = query.split('=').next().unwrap();
        assert_eq!(res.error_fields(), [field], "{query}");
    }
    assert_eq!(app.get("/api/stores?limit=100", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/stores?limit=1", None).await.status, StatusCode::OK);

    for (args, field) in [("first: 0", "first"), ("first: 101", "first"), ("after: \"garbage\"", "after")] {
        let res = app.gql(&format!("{{ stores({args}) {{ nodes {{ id }} }} }}"), json!({}), None).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.gql_code(), Some("BAD_USER_INPUT"), "{args}");
        assert_eq!(res.gql_fields(), [field]);
    }
}

/// The joined read decodes the store and each item from one row: every
/// field must match what the entities read one table at a time, whatever
/// names the join gives the columns.
#[tokio::test]
async fn a_store_read_with_its_items_matches_its_rows_read_one_table_at_a_time() {
    use entity::{item, store};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    use storegate::domain::stores;

    let app = TestApp::new().await;
    let token = app.user_token("joined@example.com").await;
    let other = app.store(&token, "Other Shop").await;
    app.item(&token, other, "Elsewhere", 1.0).await;
    let id = app.store(&token, "Joined Shop").await;
    for (name, price) in [("Tea", 4.5), ("Cups", 12.99), ("Pot", 30.0)] {
        app.item(&token, id, name, price).await;
    }
    let id = i32::try_from(id).unwrap();

    let (found, items) = stores::get_with_items(&app.state, id).await.unwrap();
    let expected_store = store::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    let expected_items = item::Entity::find()
        .filter(item::Column::StoreId.eq(id))
        .order_by_asc(item::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(found, expected_store);
    assert_eq!(expected_items.len(), 3);
    assert_eq!(items, expected_items);

    // The narrower read REST uses: the same store, and each item's id, name
    // and price.
    let (found, summaries) = stores::get_with_item_summaries(&app.state, id).await.unwrap();
    assert_eq!(found, expected_store);
    let expected_summaries: Vec<_> = expected_items
        .iter()
        .map(|i| stores::ItemSummary { id: i.id, name: i.name.clone(), price_cents: i.price_cents })
        .collect();
    assert_eq!(summaries, expected_summaries);

    // A store without items is one joined row with NULL item columns: no item.
    let empty = i32::try_from(app.store(&token, "Empty Shop").await).unwrap();
    let expected_empty = store::Entity::find_by_id(empty).one(&app.db).await.unwrap().unwrap();
    assert_eq!(stores::get_with_items(&app.state, empty).await.unwrap(), (expected_empty.clone(), vec![]));
    assert_eq!(stores::get_with_item_summaries(&app.state, empty).await.unwrap(), (expected_empty, vec![]));
}
