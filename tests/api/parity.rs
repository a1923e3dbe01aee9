//! The same rows read through REST and GraphQL carry the same values
//! (docs/API.md §6), and a store's items come back from GraphQL in one request.

use serde_json::{Value, json};

use crate::common::TestApp;

/// REST snake_case keys and integer ids, rewritten as GraphQL shows them.
fn as_graphql(rest: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in rest.as_object().unwrap() {
        let camel = storegate::domain::listing::snake_to_camel(key);
        let value = match (key.as_str(), value) {
            ("id" | "store_id" | "owner_id", Value::Number(n)) => Value::String(n.to_string()),
            _ => value.clone(),
        };
        out.insert(camel, value);
    }
    Value::Object(out)
}

#[tokio::test]
async fn a_store_reads_the_same_through_both_faces() {
    let app = TestApp::new().await;
    let token = app.user_token("parity@example.com").await;
    let id = app.store(&token, "Parity Store").await;
    let item = app.item(&token, id, "Parity Item", 12.99).await;

    let rest = app.get(&format!("/api/stores/{id}"), None).await.body;
    let gql = app
        .gql(
            "query($id: ID!) { store(id: $id) { id name ownerId createdAt updatedAt items { id name price } } }",
            json!({ "id": id.to_string() }),
            None,
        )
        .await;
    let mut expected = as_graphql(&rest);
    expected["items"] = Value::Array(rest["items"].as_array().unwrap().iter().map(as_graphql).collect());
    assert_eq!(gql.body["data"]["store"], expected);

    let rest_item = app.get(&format!("/api/items/{item}"), None).await.body;
    let gql_item = app
        .gql(
            "query($id: ID!) { item(id: $id) { id name price storeId createdAt updatedAt store { name } } }",
            json!({ "id": item.to_string() }),
            None,
        )
        .await;
    let mut got = gql_item.body["data"]["item"].clone();
    assert_eq!(got["store"]["name"], "Parity Store");
    got.as_object_mut().unwrap().remove("store");
    assert_eq!(got, as_graphql(&rest_item));
}

#[tokio::test]
async fn list_pages_match_between_faces() {
    let app = TestApp::new().await;
    let token = app.user_token("lists@example.com").await;
    for n in 0..3 {
        let store = app.store(&token, &format!("L{n}")).await;
        app.item(&token, store, &format!("i{n}"), f64::from(n) + 0.5).await;
    }
    let rest = app.get("/api/items?limit=2", None).await.body;
    let gql = app.gql("{ items(first: 2) { nodes { id name price storeId createdAt updatedAt } pageInfo { endCursor } } }", json!({}), None).await;
    let rest_rows: Vec<Value> = rest["data"].as_array().unwrap().iter().map(as_graphql).collect();
    assert_eq!(gql.body["data"]["items"]["nodes"], Value::Array(rest_rows));
    assert_eq!(
        gql.body["data"]["items"]["pageInfo"]["endCursor"], rest["next_cursor"],
        "one cursor vocabulary"
    );
}
