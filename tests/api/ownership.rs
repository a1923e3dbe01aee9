//! Ownership (issue #30): stores and products belong to their creator; the
//! owner of a store (or an admin) writes its items; rows without an owner
//! are an admin's. Both faces give the same answers.

use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::common::TestApp;

struct Cast {
    owner: String,
    owner_id: i64,
    other: String,
    admin: String,
}

async fn cast(app: &TestApp) -> Cast {
    let owner = app.user_token("owner@example.com").await;
    let owner_id = app.get("/api/auth/me", Some(&owner)).await.body["id"].as_i64().unwrap();
    let other = app.user_token("other@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    Cast { owner, owner_id, other, admin }
}

async fn factory(app: &TestApp, admin: &str) -> i64 {
    let body = json!({ "name": "Works", "address": "1 Road", "city": "Osaka", "country": "Japan" });
    let res = app.post("/api/factories", Some(admin), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["id"].as_i64().unwrap()
}

async fn product(app: &TestApp, token: &str, factory_id: i64, sku: &str) -> Value {
    let body = json!({ "sku": sku, "name": "Tea", "price": 4.5, "factory_id": factory_id });
    let res = app.post("/api/products", Some(token), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body
}

#[track_caller]
fn forbidden(res: &crate::common::Res) {
    res.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn rest_writes_need_the_owner_or_an_admin() {
    let app = TestApp::new().await;
    let Cast { owner, owner_id, other, admin } = cast(&app).await;
    let created = app.post("/api/stores", Some(&owner), json!({ "name": "Owned" })).await;
    assert_eq!(created.body["owner_id"], owner_id, "the creator owns it");
    let store = created.body["id"].as_i64().unwrap();
    let spare = app.store(&owner, "Spare").await;
    let theirs = app.store(&other, "Theirs").await;
    let item = app.item(&owner, store, "Widget", 1.0).await;
    let their_item = app.item(&other, theirs, "Gizmo", 2.0).await;
    let factory_id = factory(&app, &admin).await;
    let made = product(&app, &owner, factory_id, "OWN-1").await;
    assert_eq!(made["owner_id"], owner_id, "the creator owns it");
    let product = made["id"].as_i64().unwrap();
    let (store_path, item_path, product_path) =
        (format!("/api/stores/{store}"), format!("/api/items/{item}"), format!("/api/products/{product}"));

    // Another user: every write 403.
    forbidden(&app.put(&store_path, Some(&other), json!({ "name": "Mine now" })).await);
    forbidden(&app.patch(&store_path, Some(&other), json!({ "name": "Mine now" })).await);
    forbidden(&app.delete(&store_path, Some(&other)).await);
    let new_item = json!({ "name": "Sneaky", "price": 1, "store_id": store });
    forbidden(&app.post("/api/items", Some(&other), new_item).await);
    forbidden(
        &app.put(&item_path, Some(&other), json!({ "name": "x", "price": 1, "store_id": theirs })).await,
    );
    forbidden(&app.patch(&item_path, Some(&other), json!({ "price": 9 })).await);
    forbidden(&app.delete(&item_path, Some(&other)).await);
    // Moving their own item into the owner's store needs that store too.
    forbidden(
        &app.patch(&format!("/api/items/{their_item}"), Some(&other), json!({ "store_id": store })).await,
    );
    let product_body = json!({ "sku": "OWN-1", "name": "Mine", "price": 1, "factory_id": factory_id });
    forbidden(&app.put(&product_path, Some(&other), product_body).await);
    forbidden(&app.patch(&product_path, Some(&other), json!({ "price": 9 })).await);
    forbidden(&app.delete(&product_path, Some(&other)).await);
    // Nothing changed.
    assert_eq!(
        app.get(&store_path, None).await.body["items"],
        json!([{ "id": item, "name": "Widget", "price": 1.0 }])
    );
    assert_eq!(app.get(&product_path, None).await.body["price"], 4.5);
    assert_eq!(app.get(&format!("/api/items/{their_item}"), None).await.body["store_id"], theirs);

    // The owner: may not move an item into another user's store, may move
    // it between their own, and writes everything else.
    forbidden(&app.patch(&item_path, Some(&owner), json!({ "store_id": theirs })).await);
    let moved = app.patch(&item_path, Some(&owner), json!({ "store_id": spare })).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["store_id"], spare);
    let renamed = app.patch(&store_path, Some(&owner), json!({ "name": "Still mine" })).await;
    assert_eq!((renamed.status, renamed.body["owner_id"].clone()), (StatusCode::OK, json!(owner_id)));
    let repriced = app.patch(&product_path, Some(&owner), json!({ "price": 5 })).await;
    assert_eq!((repriced.status, repriced.body["owner_id"].clone()), (StatusCode::OK, json!(owner_id)));

    // An admin writes anyone's, and ownership stays with the creator.
    let by_admin = app.patch(&item_path, Some(&admin), json!({ "store_id": theirs })).await;
    assert_eq!(by_admin.status, StatusCode::OK, "{}", by_admin.text);
    let store_by_admin = app.put(&store_path, Some(&admin), json!({ "name": "Admin touched" })).await;
    assert_eq!(store_by_admin.body["owner_id"], owner_id, "{}", store_by_admin.text);
    let product_by_admin = app.patch(&product_path, Some(&admin), json!({ "name": "Admin tea" })).await;
    assert_eq!(product_by_admin.body["owner_id"], owner_id, "{}", product_by_admin.text);
    assert_eq!(
        app.delete(&format!("/api/items/{their_item}"), Some(&admin)).await.status,
        StatusCode::NO_CONTENT
    );

    // The owner deletes their own; the item that moved is now the other
    // store's, and its owner's to delete.
    forbidden(&app.delete(&item_path, Some(&owner)).await);
    assert_eq!(app.delete(&item_path, Some(&other)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&product_path, Some(&owner)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&store_path, Some(&owner)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.delete(&format!("/api/stores/{spare}"), Some(&admin)).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn graphql_writes_need_the_owner_or_an_admin_as_rest_does() {
    let app = TestApp::new().await;
    let Cast { owner, owner_id, other, admin } = cast(&app).await;
    let created = app
        .gql("mutation { createStore(input: { name: \"Owned\" }) { id ownerId } }", json!({}), Some(&owner))
        .await;
    let store = created.body["data"]["createStore"]["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["data"]["createStore"]["ownerId"], owner_id.to_string());
    let theirs = app.store(&other, "Theirs").await.to_string();
    let factory_id = factory(&app, &admin).await.to_string();
    let made = app
        .gql(
            "mutation($f: ID!) { createProduct(input: { sku: \"G-1\", name: \"n\", price: 1, factoryId: $f }) { id ownerId } }",
            json!({ "f": factory_id }),
            Some(&owner),
        )
        .await;
    let product = made.body["data"]["createProduct"]["id"].as_str().unwrap().to_string();
    assert_eq!(made.body["data"]["createProduct"]["ownerId"], owner_id.to_string());
    let create_item =
        "mutation($s: ID!) { createItem(input: { name: \"W\", price: 1, storeId: $s }) { id } }";
    let item =
        app.gql(create_item, json!({ "s": store }), Some(&owner)).await.body["data"]["createItem"]["id"]
            .as_str()
            .unwrap()
            .to_string();

    let update_store = "mutation($id: ID!) { updateStore(id: $id, input: { name: \"X\" }) { name ownerId } }";
    let delete_store = "mutation($id: ID!) { deleteStore(id: $id) }";
    let update_item =
        "mutation($id: ID!, $s: ID) { updateItem(id: $id, input: { storeId: $s }) { storeId } }";
    let delete_item = "mutation($id: ID!) { deleteItem(id: $id) }";
    let update_product =
        "mutation($id: ID!) { updateProduct(id: $id, input: { price: 2 }) { price ownerId } }";
    let delete_product = "mutation($id: ID!) { deleteProduct(id: $id) }";

    // Every write by another user: FORBIDDEN, as REST's 403.
    let refused = [
        (update_store, json!({ "id": store })),
        (delete_store, json!({ "id": store })),
        (create_item, json!({ "s": store })),
        (update_item, json!({ "id": item, "s": store })),
        (delete_item, json!({ "id": item })),
        (update_product, json!({ "id": product })),
        (delete_product, json!({ "id": product })),
    ];
    for (mutation, vars) in &refused {
        let res = app.gql(mutation, vars.clone(), Some(&other)).await;
        assert_eq!(res.gql_code(), Some("FORBIDDEN"), "{mutation}: {}", res.text);
        assert_eq!(res.body["data"], Value::Null);
    }
    let rest = app.patch(&format!("/api/stores/{store}"), Some(&other), json!({ "name": "X" })).await;
    let gql = app.gql(update_store, json!({ "id": store }), Some(&other)).await;
    assert_eq!(gql.body["errors"][0]["message"], rest.body["detail"], "the same words on both faces");

    // The owner may not move an item into another user's store.
    let into_theirs = app.gql(update_item, json!({ "id": item, "s": theirs }), Some(&owner)).await;
    assert_eq!(into_theirs.gql_code(), Some("FORBIDDEN"));

    // The owner and an admin succeed.
    let renamed = app.gql(update_store, json!({ "id": store }), Some(&admin)).await;
    assert_eq!(renamed.body["data"]["updateStore"], json!({ "name": "X", "ownerId": owner_id.to_string() }));
    let repriced = app.gql(update_product, json!({ "id": product }), Some(&owner)).await;
    assert_eq!(
        repriced.body["data"]["updateProduct"],
        json!({ "price": 2.0, "ownerId": owner_id.to_string() })
    );
    let moved = app.gql(update_item, json!({ "id": item, "s": theirs }), Some(&admin)).await;
    assert_eq!(moved.body["data"]["updateItem"]["storeId"], theirs.as_str(), "{}", moved.text);
    assert_eq!(
        app.gql(delete_item, json!({ "id": item }), Some(&other)).await.body["data"]["deleteItem"],
        true
    );
    assert_eq!(
        app.gql(delete_product, json!({ "id": product }), Some(&admin)).await.body["data"]["deleteProduct"],
        true
    );
    assert_eq!(
        app.gql(delete_store, json!({ "id": store }), Some(&owner)).await.body["data"]["deleteStore"],
        true
    );

    // Reads show the owner the same way on both faces.
    let rest = app.get(&format!("/api/stores/{theirs}"), None).await.body;
    let gql = app.gql("query($id: ID!) { store(id: $id) { ownerId } }", json!({ "id": theirs }), None).await;
    assert_eq!(gql.body["data"]["store"]["ownerId"], rest["owner_id"].as_i64().unwrap().to_string());
}

/// Rows made before ownership existed, and rows whose owner was deleted,
/// have no owner: only admins change them.
#[tokio::test]
async fn rows_without_an_owner_are_for_admins_only() {
    let app = TestApp::new().await;
    let Cast { owner, other, admin, .. } = cast(&app).await;
    let now = chrono::Utc::now();
    let legacy = entity::store::ActiveModel {
        name: Set("Legacy".into()),
        name_key: Set("legacy".into()),
        owner_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let legacy_path = format!("/api/stores/{}", legacy.id);
    assert_eq!(app.get(&legacy_path, None).await.body["owner_id"], Value::Null);
    let gql = app
        .gql("query($id: ID!) { store(id: $id) { ownerId } }", json!({ "id": legacy.id.to_string() }), None)
        .await;
    assert_eq!(gql.body["data"]["store"]["ownerId"], Value::Null, "{}", gql.text);
    for token in [&owner, &other] {
        forbidden(&app.patch(&legacy_path, Some(token), json!({ "name": "Claimed" })).await);
        let item = json!({ "name": "x", "price": 1, "store_id": legacy.id });
        forbidden(&app.post("/api/items", Some(token), item).await);
    }
    assert_eq!(app.patch(&legacy_path, Some(&admin), json!({ "name": "Kept" })).await.status, StatusCode::OK);

    // The owner's account goes: their store stays, without an owner.
    let orphan = app.store(&other, "Orphan").await;
    let other_id = app.get("/api/auth/me", Some(&other)).await.body["id"].as_i64().unwrap() as i32;
    entity::user::Entity::delete_by_id(other_id).exec(&app.db).await.unwrap();
    let path = format!("/api/stores/{orphan}");
    assert_eq!(app.get(&path, None).await.body["owner_id"], Value::Null);
    forbidden(&app.delete(&path, Some(&owner)).await);
    assert_eq!(app.delete(&path, Some(&admin)).await.status, StatusCode::NO_CONTENT);
}
