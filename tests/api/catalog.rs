//! Factories and products: the two-step REST path against the one-query
//! GraphQL path, permissions, 409 on deleting a factory in use, validation,
//! pagination, and the statement count that proves there is no N+1.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;

fn factory_body(name: &str) -> Value {
    json!({
        "name": name,
        "address": "1 Industrial Road",
        "city": "Taipei",
        "country": "Taiwan",
        "phone": "+886-2-555-0100",
        "email": "Plant@Example.com",
        "established_year": 1987,
        "capacity_per_month": 12000,
        "certifications": ["ISO 9001", " ISO 14001 "],
    })
}

async fn factory(app: &TestApp, admin: &str, name: &str) -> i64 {
    let res = app.post("/api/factories", Some(admin), factory_body(name)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["id"].as_i64().unwrap()
}

async fn product(app: &TestApp, token: &str, factory_id: i64, sku: &str) -> Value {
    let res = app
        .post(
            "/api/products",
            Some(token),
            json!({ "sku": sku, "name": format!("Product {sku}"), "description": "Sturdy", "price": 12.99, "factory_id": factory_id }),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body
}

#[tokio::test]
async fn the_two_step_rest_path_and_the_one_graphql_query_agree() {
    let app = TestApp::new().await;
    let admin = app.admin_token("admin@example.com").await;
    let factory_id = factory(&app, &admin, "Plant One").await;
    let created = product(&app, &admin, factory_id, "SKU-1").await;
    let product_id = created["id"].as_i64().unwrap();

    // Step 1: the product carries only its factory's id and name.
    let step1 = app.get(&format!("/api/products/{product_id}"), None).await;
    assert_eq!(step1.status, StatusCode::OK);
    assert_eq!(step1.body, created, "the 201 body equals a later GET");
    assert_eq!(step1.body["factory"], json!({ "id": factory_id, "name": "Plant One" }));
    assert_eq!(step1.body["price"], 12.99);
    // Step 2: the full factory.
    let step2 = app.get(&format!("/api/factories/{}", step1.body["factory"]["id"]), None).await;
    assert_eq!(step2.status, StatusCode::OK);
    assert_eq!(step2.body["certifications"], json!(["ISO 9001", "ISO 14001"]), "entries are trimmed");
    assert_eq!(step2.body["email"], "plant@example.com");

    // One GraphQL request.
    let gql = app
        .gql(
            "query($id: ID!) { product(id: $id) { id sku name description price createdAt updatedAt factory { id name address city country phone email establishedYear capacityPerMonth certifications createdAt updatedAt } } }",
            json!({ "id": product_id.to_string() }),
            None,
        )
        .await;
    let node = &gql.body["data"]["product"];
    let factory = &step2.body;
    let expected_factory = json!({
        "id": factory["id"].to_string(), "name": factory["name"], "address": factory["address"], "city": factory["city"],
        "country": factory["country"], "phone": factory["phone"], "email": factory["email"],
        "establishedYear": factory["established_year"], "capacityPerMonth": factory["capacity_per_month"],
        "certifications": factory["certifications"], "createdAt": factory["created_at"], "updatedAt": factory["updated_at"],
    });
    assert_eq!(node["factory"], expected_factory, "{}", gql.text);
    assert_eq!(node["sku"], step1.body["sku"]);
    assert_eq!(node["price"], step1.body["price"]);
    assert_eq!(node["description"], step1.body["description"]);
    assert_eq!(node["createdAt"], step1.body["created_at"]);
}

#[tokio::test]
async fn factory_permissions_follow_the_table_on_both_faces() {
    let app = TestApp::new().await;
    let user = app.user_token("user@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    app.post("/api/factories", None, factory_body("F"))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.post("/api/factories", Some(&user), factory_body("F"))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    let id = factory(&app, &admin, "F").await;
    let path = format!("/api/factories/{id}");
    assert_eq!(app.get(&path, None).await.status, StatusCode::OK);
    app.patch(&path, Some(&user), json!({ "city": "Osaka" }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.delete(&path, Some(&user)).await.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    let patched = app.patch(&path, Some(&admin), json!({ "city": "Osaka", "phone": null })).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!((patched.body["city"].clone(), patched.body["phone"].clone()), (json!("Osaka"), Value::Null));
    assert_eq!(patched.body["email"], "plant@example.com", "absent fields are kept");

    let create = "mutation { createFactory(input: { name: \"G\", address: \"a\", city: \"c\", country: \"k\" }) { id certifications phone } }";
    assert_eq!(app.gql(create, json!({}), None).await.gql_code(), Some("UNAUTHENTICATED"));
    assert_eq!(app.gql(create, json!({}), Some(&user)).await.gql_code(), Some("FORBIDDEN"));
    let made = app.gql(create, json!({}), Some(&admin)).await;
    assert_eq!(made.body["data"]["createFactory"]["certifications"], json!([]), "{}", made.text);
    assert_eq!(made.body["data"]["createFactory"]["phone"], Value::Null);
    let gid = made.body["data"]["createFactory"]["id"].as_str().unwrap();
    let update = "mutation($id: ID!) { updateFactory(id: $id, input: { capacityPerMonth: 5 }) { capacityPerMonth name } }";
    assert_eq!(app.gql(update, json!({ "id": gid }), Some(&user)).await.gql_code(), Some("FORBIDDEN"));
    let updated = app.gql(update, json!({ "id": gid }), Some(&admin)).await;
    assert_eq!(updated.body["data"]["updateFactory"], json!({ "capacityPerMonth": 5, "name": "G" }));
    let delete = "mutation($id: ID!) { deleteFactory(id: $id) }";
    assert_eq!(app.gql(delete, json!({ "id": gid }), Some(&user)).await.gql_code(), Some("FORBIDDEN"));
    assert_eq!(app.gql(delete, json!({ "id": gid }), Some(&admin)).await.body["data"]["deleteFactory"], true);
}

#[tokio::test]
async fn product_permissions_follow_the_table_on_both_faces() {
    let app = TestApp::new().await;
    let user = app.user_token("user@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let factory_id = factory(&app, &admin, "F").await;
    let id = product(&app, &user, factory_id, "U-1").await["id"].as_i64().unwrap();
    let path = format!("/api/products/{id}");
    app.patch(&path, None, json!({ "price": 1 }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let me = app.get("/api/auth/me", Some(&user)).await.body["id"].as_i64().unwrap() as i32;
    let stale = app.issue(me, &["user"], storegate::auth::TokenKind::Access, false).token;
    app.patch(&path, Some(&stale), json!({ "price": 1 }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "FRESH_TOKEN_REQUIRED");
    let patched = app.patch(&path, Some(&user), json!({ "description": null, "price": 1 })).await;
    assert_eq!(patched.body["description"], Value::Null, "{}", patched.text);
    assert_eq!(patched.body["price"], 1.0);
    assert_eq!(patched.body["owner_id"], me, "the creator owns it");
    // Another user may neither change nor delete it.
    let other = app.user_token("other@example.com").await;
    app.patch(&path, Some(&other), json!({ "price": 2 }))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.delete(&path, Some(&other)).await.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");

    let create = "mutation($f: ID!) { createProduct(input: { sku: \"G-1\", name: \"n\", price: 0.5, factoryId: $f }) { id factory { id } } }";
    let f = factory_id.to_string();
    assert_eq!(app.gql(create, json!({ "f": f }), None).await.gql_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        app.gql(create, json!({ "f": f }), Some(&stale)).await.gql_code(),
        Some("FRESH_TOKEN_REQUIRED")
    );
    let made = app.gql(create, json!({ "f": f }), Some(&user)).await;
    assert_eq!(made.body["data"]["createProduct"]["factory"]["id"], f.as_str(), "{}", made.text);
    let gid = made.body["data"]["createProduct"]["id"].as_str().unwrap();
    let delete = "mutation($id: ID!) { deleteProduct(id: $id) }";
    assert_eq!(app.gql(delete, json!({ "id": gid }), Some(&other)).await.gql_code(), Some("FORBIDDEN"));
    assert_eq!(app.gql(delete, json!({ "id": gid }), Some(&user)).await.body["data"]["deleteProduct"], true);
    assert_eq!(app.delete(&path, Some(&admin)).await.status, StatusCode::NO_CONTENT, "admins delete any");
}

#[tokio::test]
async fn a_factory_with_products_cannot_be_deleted() {
    let app = TestApp::new().await;
    let admin = app.admin_token("admin@example.com").await;
    let factory_id = factory(&app, &admin, "Busy").await;
    let product_id = product(&app, &admin, factory_id, "B-1").await["id"].as_i64().unwrap();
    let path = format!("/api/factories/{factory_id}");
    let refused = app.delete(&path, Some(&admin)).await;
    refused.assert_problem(StatusCode::CONFLICT, "CONFLICT");
    assert!(refused.body["detail"].as_str().unwrap().contains("1 product"));
    let gql = app
        .gql(
            "mutation($id: ID!) { deleteFactory(id: $id) }",
            json!({ "id": factory_id.to_string() }),
            Some(&admin),
        )
        .await;
    assert_eq!(gql.gql_code(), Some("CONFLICT"));
    assert_eq!(
        app.get(&format!("/api/products/{product_id}"), None).await.status,
        StatusCode::OK,
        "nothing cascaded"
    );

    assert_eq!(
        app.delete(&format!("/api/products/{product_id}"), Some(&admin)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.delete(&path, Some(&admin)).await.status, StatusCode::NO_CONTENT);
    app.get(&path, None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn catalog_input_is_validated_field_by_field() {
    let app = TestApp::new().await;
    let admin = app.admin_token("admin@example.com").await;
    let bad = app
        .post(
            "/api/factories",
            Some(&admin),
            json!({ "name": "", "city": "c", "country": "k", "email": "nope", "established_year": 1200, "capacity_per_month": -1, "certifications": [""] }),
        )
        .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(
        bad.error_fields(),
        ["address", "capacity_per_month", "certifications", "email", "established_year", "name"]
    );
    let f = factory(&app, &admin, "F").await;
    app.patch(&format!("/api/factories/{f}"), Some(&admin), json!({ "city": null }))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");

    let bad_product = app
        .post("/api/products", Some(&admin), json!({ "sku": "", "price": 1.001, "factory_id": 424242 }))
        .await;
    bad_product.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(bad_product.error_fields(), ["factory_id", "name", "price", "sku"]);
    assert_eq!(bad_product.body["errors"][0]["message"], "no factory with this id");

    product(&app, &admin, f, "DUP-1").await;
    let dup = app
        .post(
            "/api/products",
            Some(&admin),
            json!({ "sku": " DUP-1 ", "name": "again", "price": 1, "factory_id": f }),
        )
        .await;
    dup.assert_problem(StatusCode::CONFLICT, "CONFLICT");
    let gql = app
        .gql("mutation($f: ID!) { createProduct(input: { sku: \"\", name: \"\", price: -2, factoryId: $f }) { id } }", json!({ "f": "999" }), Some(&admin))
        .await;
    assert_eq!(gql.gql_fields(), ["factoryId", "name", "price", "sku"]);
}

#[tokio::test]
async fn product_pages_visit_every_row_once_while_rows_change() {
    let app = TestApp::new().await;
    let admin = app.admin_token("admin@example.com").await;
    let f1 = factory(&app, &admin, "F1").await;
    let f2 = factory(&app, &admin, "F2").await;
    let mut expected = Vec::new();
    for n in 0..6 {
        expected.push(product(&app, &admin, f1, &format!("A-{n}")).await["id"].as_i64().unwrap());
        product(&app, &admin, f2, &format!("B-{n}")).await;
    }

    // REST, following Link headers. After the first page: a row is added,
    // a row already seen is deleted, and a row not yet seen is deleted.
    let mut seen = Vec::new();
    let mut next = Some(format!("/api/products?factory_id={f1}&limit=2"));
    let mut changed = false;
    let mut pages = 0;
    while let Some(url) = next {
        let page = app.get(&url, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        pages += 1;
        seen.extend(page.body["data"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()));
        if !changed {
            changed = true;
            expected.push(product(&app, &admin, f1, "late").await["id"].as_i64().unwrap());
            product(&app, &admin, f2, "other").await;
            assert_eq!(
                app.delete(&format!("/api/products/{}", expected[0]), Some(&admin)).await.status,
                StatusCode::NO_CONTENT
            );
            let unseen = expected.remove(4);
            assert_eq!(
                app.delete(&format!("/api/products/{unseen}"), Some(&admin)).await.status,
                StatusCode::NO_CONTENT
            );
        }
        // The header may also link the previous page (`rel="prev"`).
        next = page.header("link").and_then(|links| {
            links
                .split(", ")
                .find(|link| link.ends_with("rel=\"next\""))
                .map(|link| link.trim_start_matches('<').split('>').next().unwrap().to_string())
        });
    }
    assert_eq!(seen, expected, "every row once, none skipped, none repeated");
    assert_eq!(pages, 3);

    // GraphQL, with a row added mid-walk.
    let query = "query($f: ID, $after: String) { products(factoryId: $f, first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }";
    let mut after = Value::Null;
    let mut gql_seen = Vec::new();
    let mut expected_gql: Vec<i64> = expected[1..].to_vec();
    let mut added = false;
    loop {
        let res = app.gql(query, json!({ "f": f1.to_string(), "after": after }), None).await;
        let conn = &res.body["data"]["products"];
        gql_seen.extend(
            conn["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().parse::<i64>().unwrap()),
        );
        if !added {
            added = true;
            expected_gql.push(product(&app, &admin, f1, "later").await["id"].as_i64().unwrap());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(gql_seen, expected_gql);
    assert_eq!(gql_seen.iter().collect::<HashSet<_>>().len(), gql_seen.len());
}

#[tokio::test]
async fn demo_seed_is_idempotent() {
    let app = TestApp::new().await;
    let first = storegate::domain::demo::seed(&app.db).await.unwrap();
    assert_eq!((first.factories, first.products, first.stores, first.items), (20, 2000, 50, 1000));
    let second = storegate::domain::demo::seed(&app.db).await.unwrap();
    assert_eq!(second, storegate::domain::demo::Seeded::default());
    let page = app.get("/api/products?limit=100", None).await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 100);
}

/// `seed-demo --scale`: more products on top of the default ones, and a
/// search over their descriptions finds one product in 77 (a material and a
/// part), as the search benchmark expects.
#[tokio::test]
async fn demo_seed_scales_to_more_products() {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let more = storegate::domain::demo::seed_scaled(&app.db, 3080).await.unwrap();
    assert_eq!((more.factories, more.products, more.stores, more.items), (0, 1080, 0, 0));
    let page = app.get("/api/products?count=true&limit=1", None).await;
    assert_eq!(page.body["total_count"], 3080);
    let page = app.get("/api/products?q=BRASS%20hinge&count=true&sort=-price&limit=5", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["total_count"], 40, "{}", page.text);
    let prices: Vec<f64> =
        page.body["data"].as_array().unwrap().iter().map(|p| p["price"].as_f64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
    let again = storegate::domain::demo::seed_scaled(&app.db, 3080).await.unwrap();
    assert_eq!(again, storegate::domain::demo::Seeded::default());
}

/// The N+1 proof: a page of 100 products with their factories costs the
/// same number of statements as a page of 10, and so do stores with items.
#[tokio::test]
async fn graphql_pages_with_relations_cost_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let products = "query($n: Int) { products(first: $n) { nodes { id name factory { id name address country certifications } } } }";
    let (ten, ten_cost) = app.counting(app.gql(products, json!({ "n": 10 }), None)).await;
    let (hundred, hundred_cost) = app.counting(app.gql(products, json!({ "n": 100 }), None)).await;
    assert_eq!(ten.body["data"]["products"]["nodes"].as_array().unwrap().len(), 10);
    let nodes = hundred.body["data"]["products"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 100);
    assert!(nodes.iter().all(|n| n["factory"]["name"].is_string()), "{}", hundred.text);
    let factories: HashSet<&str> = nodes.iter().map(|n| n["factory"]["id"].as_str().unwrap()).collect();
    assert_eq!(factories.len(), 20, "the page spans every factory");
    assert_eq!(ten_cost, hundred_cost, "statements grow with the page size");
    assert!(hundred_cost <= 3, "{hundred_cost} statements for 100 products");

    let stores = "query($n: Int) { stores(first: $n) { nodes { id items(first: 20) { id name price store { name } } } } }";
    let (_, five_cost) = app.counting(app.gql(stores, json!({ "n": 5 }), None)).await;
    let (fifty, fifty_cost) = app.counting(app.gql(stores, json!({ "n": 50 }), None)).await;
    let store_nodes = fifty.body["data"]["stores"]["nodes"].as_array().unwrap();
    assert_eq!(store_nodes.len(), 50);
    assert!(store_nodes.iter().all(|s| s["items"].as_array().unwrap().len() == 20));
    assert_eq!(five_cost, fifty_cost);
    assert!(fifty_cost <= 3, "{fifty_cost} statements for 50 stores");

    // The REST list is one statement too: products joined with factory names.
    let (_, rest_cost) = app.counting(app.get("/api/products?limit=100", None)).await;
    assert_eq!(rest_cost, 1);
}

#[tokio::test]
async fn single_reads_with_their_relation_are_one_statement_on_both_faces() {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let token = app.user_token("reader@example.com").await;
    let empty = app.store(&token, "Nothing here yet").await;

    let (rest, cost) = app.counting(app.get("/api/stores/1", None)).await;
    assert_eq!((rest.status, cost), (StatusCode::OK, 1), "{}", rest.text);
    let rest_items = rest.body["items"].as_array().unwrap();
    assert_eq!(rest_items.len(), 20);
    let ids: Vec<i64> = rest_items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "items by id: {ids:?}");

    let store = "query($id: ID!) { store(id: $id) { name items { id name price } } }";
    let (graphql, cost) = app.counting(app.gql(store, json!({ "id": "1" }), None)).await;
    assert_eq!(cost, 1, "{}", graphql.text);
    let graphql_items = graphql.body["data"]["store"]["items"].as_array().unwrap();
    assert_eq!(
        graphql_items.iter().map(|i| i["id"].as_str().unwrap().parse::<i64>().unwrap()).collect::<Vec<_>>(),
        ids
    );

    // A store without items is still found, with an empty list.
    let (none, cost) = app.counting(app.get(&format!("/api/stores/{empty}"), None)).await;
    assert_eq!((none.status, cost), (StatusCode::OK, 1));
    assert_eq!(none.body["items"], json!([]));
    let graphql_none = app.gql(store, json!({ "id": empty.to_string() }), None).await;
    assert_eq!(graphql_none.body["data"]["store"]["items"], json!([]), "{}", graphql_none.text);
    let missing = app.gql(store, json!({ "id": "999999" }), None).await;
    assert_eq!(missing.body["data"]["store"], Value::Null, "{}", missing.text);

    let product = "query($id: ID!) { product(id: $id) { name factory { name certifications } } }";
    let (found, cost) = app.counting(app.gql(product, json!({ "id": "7" }), None)).await;
    assert_eq!(cost, 1, "{}", found.text);
    let factory_id = app.get("/api/products/7", None).await.body["factory"]["id"].as_i64().unwrap();
    let factory = app.get(&format!("/api/factories/{factory_id}"), None).await;
    assert_eq!(found.body["data"]["product"]["factory"]["name"], factory.body["name"]);
    assert_eq!(found.body["data"]["product"]["factory"]["certifications"], factory.body["certifications"]);
}

/// A store's items are read whole only when the query asks for a column a
/// summary lacks (the timestamps), through fragments too; either way every
/// field answers the same as the whole row, in one statement.
#[tokio::test]
async fn a_store_reads_its_items_timestamps_only_when_asked_and_answers_alike() {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let fields = |body: &Value| -> Vec<Value> {
        body["data"]["store"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| json!([i["id"], i["name"], i["price"], i["storeId"]]))
            .collect()
    };

    let summaries = "query { store(id: 1) { items { id name price storeId } } }";
    let (summary, cost) = app.counting(app.gql(summaries, json!({}), None)).await;
    assert_eq!(cost, 1, "{}", summary.text);
    let whole = "query { store(id: 1) { items { id name price storeId createdAt updatedAt } } }";
    let (full, cost) = app.counting(app.gql(whole, json!({}), None)).await;
    assert_eq!(cost, 1, "{}", full.text);
    assert_eq!(fields(&summary.body).len(), 20);
    assert_eq!(fields(&summary.body), fields(&full.body));
    assert!(fields(&summary.body).iter().all(|f| f[3] == json!("1")), "{}", summary.text);

    // The timestamps asked for through a named or an inline fragment are
    // read with the store: one statement, not one more per item.
    let first_item = &full.body["data"]["store"]["items"][0];
    for query in [
        "query { store(id: 1) { items { id name price storeId ...Stamps } } } \
         fragment Stamps on Item { createdAt updatedAt }",
        "query { store(id: 1) { items { id name price storeId ... on Item { createdAt updatedAt } } } }",
    ] {
        let (fragment, cost) = app.counting(app.gql(query, json!({}), None)).await;
        assert_eq!(cost, 1, "{query}: {}", fragment.text);
        assert_eq!(fragment.body["data"], full.body["data"], "{query}");
    }
    let one = "query($id: ID!) { item(id: $id) { createdAt updatedAt } }";
    let item = app.gql(one, json!({ "id": first_item["id"] }), None).await;
    assert_eq!(item.body["data"]["item"]["createdAt"], first_item["createdAt"], "{}", item.text);
    assert_eq!(item.body["data"]["item"]["updatedAt"], first_item["updatedAt"]);
    assert!(first_item["createdAt"].is_string(), "{}", full.text);
}

/// The joined reads decode each product and its factory from one row (a
/// page decodes each of its factories once): every field must match what
/// the entities read one table at a time, whatever names the join gives
/// the columns.
#[tokio::test]
async fn product_reads_with_their_factory_match_their_rows_read_one_table_at_a_time() {
    use std::collections::HashMap;

    use entity::{factory, product};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    use storegate::domain::listing::{Filter, ListRequest};
    use storegate::domain::products;

    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let factories: HashMap<i32, factory::Model> =
        factory::Entity::find().all(&app.db).await.unwrap().into_iter().map(|f| (f.id, f)).collect();
    let expected_page = |filter: Option<i32>, after: i32| {
        let mut select = product::Entity::find().filter(product::Column::Id.gt(after));
        if let Some(factory_id) = filter {
            select = select.filter(product::Column::FactoryId.eq(factory_id));
        }
        select.order_by_asc(product::Column::Id).limit(100).all(&app.db)
    };

    let last_factory = *factories.keys().max().unwrap();
    for (filter, after) in [(None, 0), (None, 1950), (Some(last_factory), 0)] {
        let request = ListRequest::by_id(
            100,
            (after > 0).then_some(after),
            Filter { factory_id: filter, ..Filter::default() },
        );
        let page = products::list(&app.state, &request).await.unwrap();
        let expected = expected_page(filter, after).await.unwrap();
        assert_eq!(page.rows.len(), expected.len(), "{filter:?} after {after}");
        assert!(!expected.is_empty());
        for (row, product) in page.rows.iter().zip(&expected) {
            assert_eq!(&row.product, product);
            assert_eq!(*row.factory, factories[&product.factory_id], "product {}", product.id);
        }
        // The page holds products of more than one factory (unless filtered).
        let distinct: std::collections::HashSet<_> = page.rows.iter().map(|r| r.factory.id).collect();
        assert_eq!(distinct.len() > 1, filter.is_none());
    }

    let product = expected_page(None, 41).await.unwrap().remove(0);
    let one = products::get(&app.state, product.id).await.unwrap();
    assert_eq!(one.product, product);
    assert_eq!(*one.factory, factories[&product.factory_id]);
}
