//! The GraphQL cost model (docs/API.md §4): every list is bounded and costs its
//! bound times its elements, aliases add up, a document over the budget is
//! refused before anything runs with its cost and the budget, a document
//! holds at most two password hashes, and every documented query still runs.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::post_graphql as post;
use crate::common::{PASSWORD, Res, TestApp};

const BUDGET: usize = 10_000;
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The document of issue #28: a million products on the demo data.
const DEEP: &str = r#"{ product(id:"1") { factory { products { factory { products { factory { products { id } } } } } } } }"#;

async fn query(app: &TestApp, query: &str, accept: Option<&str>) -> Res {
    post(app, json!({ "query": query }), accept).await
}

async fn demo() -> TestApp {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.expect("demo data");
    app
}

/// Asserts the refusal of a document that costs `cost`, as
/// `application/graphql-response+json` answers it.
#[track_caller]
fn assert_refused(res: &Res, cost: usize) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.body.get("data").is_none(), "{}", res.text);
    assert_eq!(res.body["errors"].as_array().map(Vec::len), Some(1), "{}", res.text);
    assert_eq!(res.gql_code(), Some("BAD_REQUEST"), "{}", res.text);
    let message = res.body["errors"][0]["message"].as_str().unwrap();
    let expected = format!("the document costs {cost}, over the budget of {BUDGET}: ");
    assert!(message.starts_with(&expected), "{message}");
}

#[tokio::test]
async fn the_deep_document_is_refused_before_any_sql_runs() {
    let app = demo().await;
    // 100 products a level, three levels: 100 × (1 + 100 × (1 + 100 × (1 + 1 + 1) ...)).
    let (res, statements) = app.counting(query(&app, DEEP, Some(GRAPHQL_RESPONSE))).await;
    assert_refused(&res, 1_020_203);
    assert_eq!(statements, 0, "a refused document runs nothing");

    // The same shape with small lists runs, and answers what it asked.
    let small =
        r#"{ product(id:"1") { factory { products(first: 3) { factory { products(first: 2) { id } } } } } }"#;
    let res = query(&app, small, Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    let products = res.body["data"]["product"]["factory"]["products"].as_array().unwrap();
    assert_eq!(products.len(), 3, "{}", res.text);
    assert_eq!(products[0]["factory"]["products"].as_array().unwrap().len(), 2, "{}", res.text);
}

#[tokio::test]
async fn aliases_add_up_and_ten_pages_of_100_by_100_are_refused() {
    let app = demo().await;
    let page = |first: usize| format!("factories(first: {first}) {{ nodes {{ products {{ id }} }} }}");
    // One page of 100 factories × 100 products: 100 × (1 + 101) + 1.
    let (res, statements) =
        app.counting(query(&app, &format!("{{ {} }}", page(100)), Some(GRAPHQL_RESPONSE))).await;
    assert_refused(&res, 10_201);
    assert_eq!(statements, 0);
    // Ten aliases of it cost ten times as much.
    let aliases: Vec<String> = (0..10).map(|n| format!("a{n}: {}", page(100))).collect();
    let (res, statements) =
        app.counting(query(&app, &format!("{{ {} }}", aliases.join(" ")), Some(GRAPHQL_RESPONSE))).await;
    assert_refused(&res, 102_010);
    assert_eq!(statements, 0);
    // Through a fragment, the same.
    let spreads: Vec<String> = (0..10).map(|n| format!("a{n}: factories(first: 100) {{ ...P }}")).collect();
    let fragment = format!(
        "{{ {} }} fragment P on FactoryConnection {{ nodes {{ products {{ id }} }} }}",
        spreads.join(" ")
    );
    assert_refused(&query(&app, &fragment, Some(GRAPHQL_RESPONSE)).await, 102_010);

    // Half a page fits, and answers every factory with its 100 products.
    let res = query(&app, &format!("{{ {} }}", page(50)), Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    let factories = res.body["data"]["factories"]["nodes"].as_array().unwrap();
    assert_eq!(factories.len(), 20, "the demo data has 20 factories");
    assert!(factories.iter().all(|f| f["products"].as_array().unwrap().len() == 100));
}

#[tokio::test]
async fn a_refusal_answers_400_or_200_by_accept_and_names_cost_and_budget() {
    let app = demo().await;
    let res = query(&app, DEEP, Some(GRAPHQL_RESPONSE)).await;
    assert_refused(&res, 1_020_203);
    assert_eq!(res.header("content-type"), Some(GRAPHQL_RESPONSE));
    assert_eq!(
        res.body["errors"][0]["message"],
        "the document costs 1020203, over the budget of 10000: ask for fewer rows (`first`) or fewer \
         fields; a list costs its `first` times its fields, a login, signup or password change 3334"
    );
    assert!(res.body["errors"][0].get("path").is_none(), "{}", res.text);

    for accept in [Some("application/json"), None] {
        let legacy = query(&app, DEEP, accept).await;
        assert_eq!(legacy.status, StatusCode::OK, "{accept:?}: {}", legacy.text);
        assert_eq!(legacy.header("content-type"), Some("application/json"));
        assert_eq!(legacy.body["errors"], res.body["errors"], "{accept:?}");
        assert!(legacy.body.get("data").is_none_or(Value::is_null), "{}", legacy.text);
    }

    // Over GET, and with the cost coming from a variable, the same.
    let variables = r#"query($n: Int) { factories(first: $n) { nodes { products { id } } } }"#;
    let res =
        post(&app, json!({ "query": variables, "variables": { "n": 100 } }), Some(GRAPHQL_RESPONSE)).await;
    assert_refused(&res, 10_201);
    let res =
        post(&app, json!({ "query": variables, "variables": { "n": 10 } }), Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let uri = format!("/graphql?query={}", urlencode(DEEP));
    let get = app
        .send(
            Request::builder().uri(uri).header(header::ACCEPT, GRAPHQL_RESPONSE).body(Body::empty()).unwrap(),
        )
        .await;
    assert_refused(&get, 1_020_203);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_document_holds_at_most_two_logins_or_signups() {
    let app = TestApp::new().await;
    app.user_token("cost-two-logins@example.com").await;
    let login = |alias: &str, email: &str| {
        format!(r#"{alias}: login(email: "{email}", password: "{PASSWORD}") {{ accessToken }}"#)
    };

    let three = format!(
        "mutation {{ {} {} {} }}",
        login("a", "cost-two-logins@example.com"),
        login("b", "cost-nobody-1@example.com"),
        login("c", "cost-nobody-2@example.com")
    );
    let (res, statements) = app.counting(query(&app, &three, Some(GRAPHQL_RESPONSE))).await;
    assert_refused(&res, 3 * (3334 + 1));
    assert_eq!(statements, 0, "no login of the three ran");

    let mixed = format!(
        r#"mutation {{ s: signup(email: "cost-new@example.com", password: "{PASSWORD}") {{ id }} {} {} }}"#,
        login("a", "cost-two-logins@example.com"),
        login("b", "cost-nobody-1@example.com"),
    );
    assert_refused(&query(&app, &mixed, Some(GRAPHQL_RESPONSE)).await, 3 * (3334 + 1));
    let res = app
        .post("/api/auth/login", None, json!({ "email": "cost-new@example.com", "password": PASSWORD }))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "the refused signup did not run: {}", res.text);

    // Two run: the right password signs in, the unknown email is refused.
    let two = format!(
        "mutation {{ {} {} }}",
        login("a", "cost-two-logins@example.com"),
        login("b", "cost-nobody-1@example.com")
    );
    let res = query(&app, &two, Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body["data"]["a"]["accessToken"].is_string(), "{}", res.text);
    assert_eq!(res.body["errors"][0]["path"], json!(["b"]), "{}", res.text);
    assert_eq!(res.gql_code(), Some("UNAUTHENTICATED"), "{}", res.text);
}

#[tokio::test]
async fn plain_lists_take_first_from_1_to_100_and_keep_the_first_rows() {
    let app = TestApp::new().await;
    let token = app.user_token("cost-lists@example.com").await;
    let store = app.store(&token, "Cost Lists").await;
    let mut items = Vec::new();
    for n in 0..3 {
        items.push(app.item(&token, store, &format!("Item {n}"), 1.0).await.to_string());
    }
    let admin = app.admin_token("cost-lists-admin@example.com").await;
    let factory = app
        .gql(
            r#"mutation { createFactory(input: {name: "Cost Plant", address: "1 Road", city: "Osaka", country: "Japan"}) { id } }"#,
            json!({}),
            Some(&admin),
        )
        .await;
    let factory = factory.body["data"]["createFactory"]["id"].as_str().expect("factory").to_string();
    let mut products = Vec::new();
    for n in 0..3 {
        let res = app
            .gql(
                "mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }",
                json!({ "input": { "sku": format!("COST-{n}"), "name": "P", "price": 1.0, "factoryId": factory } }),
                Some(&admin),
            )
            .await;
        products.push(res.body["data"]["createProduct"]["id"].as_str().expect("product").to_string());
    }
    let ids = |list: &Value| -> Vec<String> {
        list.as_array().expect("a list").iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
    };

    // Every path that answers `Store.items`: the joined read with whole
    // rows or with summaries, the loader of a page, a direct read.
    let store_paths = [
        (
            format!(r#"{{ store(id: "{store}") {{ items(first: 2) {{ id createdAt }} }} }}"#),
            "/data/store/items",
        ),
        (format!(r#"{{ store(id: "{store}") {{ items(first: 2) {{ id name }} }} }}"#), "/data/store/items"),
        ("{ stores { nodes { items(first: 2) { id } } } }".to_string(), "/data/stores/nodes/0/items"),
        (
            format!(r#"{{ item(id: "{}") {{ store {{ items(first: 2) {{ id }} }} }} }}"#, items[2]),
            "/data/item/store/items",
        ),
    ];
    for (document, pointer) in &store_paths {
        let res = app.gql(document, json!({}), None).await;
        assert!(res.body.get("errors").is_none(), "{document}: {}", res.text);
        assert_eq!(ids(res.body.pointer(pointer).unwrap()), items[..2], "{document}");
        let all = app.gql(&document.replace("first: 2", "first: 100"), json!({}), None).await;
        assert_eq!(ids(all.body.pointer(pointer).unwrap()), items, "{document}");
        let default = app.gql(&document.replace("(first: 2)", ""), json!({}), None).await;
        assert_eq!(ids(default.body.pointer(pointer).unwrap()), items, "{document}");
    }
    for (document, pointer) in [
        (
            format!(r#"{{ factory(id: "{factory}") {{ products(first: 2) {{ id }} }} }}"#),
            "/data/factory/products",
        ),
        (
            "{ factories { nodes { products(first: 2) { id } } } }".to_string(),
            "/data/factories/nodes/0/products",
        ),
        (
            format!(
                r#"{{ product(id: "{}") {{ factory {{ products(first: 2) {{ id }} }} }} }}"#,
                products[0]
            ),
            "/data/product/factory/products",
        ),
    ] {
        let res = app.gql(&document, json!({}), None).await;
        assert!(res.body.get("errors").is_none(), "{document}: {}", res.text);
        assert_eq!(ids(res.body.pointer(pointer).unwrap()), products[..2], "{document}");
    }

    // Outside 1–100: the same error as a connection's `first`.
    let connection = app.gql("{ stores(first: 101) { nodes { id } } }", json!({}), None).await;
    for first in [101, 0, -1] {
        for document in [
            format!(r#"{{ store(id: "{store}") {{ items(first: {first}) {{ id }} }} }}"#),
            format!(r#"{{ factory(id: "{factory}") {{ products(first: {first}) {{ id }} }} }}"#),
        ] {
            let res = app.gql(&document, json!({}), None).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
            assert_eq!(res.gql_code(), Some("BAD_USER_INPUT"), "{document}: {}", res.text);
            assert_eq!(res.gql_fields(), ["first"], "{document}");
            assert_eq!(res.body["errors"][0]["message"], connection.body["errors"][0]["message"]);
            assert_eq!(
                res.body["errors"][0]["extensions"]["fields"],
                connection.body["errors"][0]["extensions"]["fields"]
            );
        }
    }
}

/// The queries README.md and GraphiQL's starter show, and the ones the
/// benchmarks send, all run on the demo data.
#[tokio::test]
async fn every_documented_query_runs() {
    let app = demo().await;
    let graphiql =
        "{ products(first: 5) { nodes { id name price factory { name country certifications } } } }";
    let readme_list = "{ stores { nodes { id name items { name price } } } }";
    let contract = r#"{ product(id: 1) { name factory { name address country certifications } } }"#;
    let loadgen = [
        r#"{ product(id: "7") { id sku name description price factory { id name address city country phone email establishedYear capacityPerMonth certifications } } }"#,
        "{ products(first: 100) { nodes { id sku name price factory { id name address country certifications } } } }",
        "{ products(first: 100) { pageInfo { hasNextPage endCursor } nodes { id } } }",
        "{ products(first: 20) { nodes { id name factory { name } } } }",
    ];
    for document in [graphiql, readme_list, contract].into_iter().chain(loadgen) {
        let res = query(&app, document, Some(GRAPHQL_RESPONSE)).await;
        assert_eq!(res.status, StatusCode::OK, "{document}: {}", res.text);
        assert!(res.body.get("errors").is_none(), "{document}: {}", res.text);
    }
    let res = query(&app, readme_list, None).await;
    let stores = res.body["data"]["stores"]["nodes"].as_array().unwrap();
    assert_eq!(stores.len(), 20);
    assert!(stores.iter().all(|s| s["items"].as_array().unwrap().len() == 20), "{}", res.text);

    // The README's walk-through, in order.
    let email = "cost-readme@example.com";
    let signup =
        format!(r#"mutation {{ signup(email: "{email}", password: "correct horse") {{ id email roles }} }}"#);
    let res = query(&app, &signup, None).await;
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    let login = format!(
        r#"mutation {{ login(email: "{email}", password: "correct horse") {{ accessToken tokenType expiresIn }} }}"#
    );
    let res = query(&app, &login, None).await;
    let token = res.body["data"]["login"]["accessToken"].as_str().expect("token").to_string();
    let res = app
        .gql(
            r#"mutation { createStore(input: {name: "Night Market"}) { id name } }"#,
            json!({}),
            Some(&token),
        )
        .await;
    let store = res.body["data"]["createStore"]["id"].as_str().expect("store").to_string();
    let create_item = format!(
        r#"mutation {{ createItem(input: {{name: "Lantern", price: 12.99, storeId: "{store}"}}) {{ id name price store {{ name }} }} }}"#
    );
    let res = app.gql(&create_item, json!({}), Some(&token)).await;
    assert_eq!(res.body["data"]["createItem"]["store"]["name"], "Night Market", "{}", res.text);
}

/// Operations over the websocket meet the same budget, refused with the
/// same error, and run without the per-request loaders of HTTP.
#[tokio::test]
async fn the_websocket_refuses_the_same_documents() {
    let app = demo().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut request = format!("ws://{address}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("socket opens");
    let (mut sink, mut stream) = socket.split();
    let mut answer = async || loop {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("an answer");
        match message {
            Some(Ok(Message::Text(text))) => return serde_json::from_str::<Value>(&text).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("the socket closed: {other:?}"),
        }
    };
    let send = |message: Value| Message::text(message.to_string());
    sink.send(send(json!({ "type": "connection_init", "payload": {} }))).await.unwrap();
    assert_eq!(answer().await["type"], "connection_ack");
    let subscribe =
        |id: &str, query: &str| send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }));

    sink.send(subscribe("deep", DEEP)).await.unwrap();
    let refused = answer().await;
    assert_eq!(refused["id"], "deep", "{refused}");
    // async-graphql answers a query's errors in `next` (`error` is the
    // protocol's other way to say it).
    let errors = match refused["type"].as_str() {
        Some("error") => &refused["payload"],
        _ => &refused["payload"]["errors"],
    };
    assert!(refused["payload"]["data"].is_null(), "{refused}");
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{refused}");
    assert_eq!(errors[0]["extensions"]["code"], "BAD_REQUEST", "{refused}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.starts_with("the document costs 1020203, over the budget of 10000: "), "{message}");

    let done = answer().await;
    assert_eq!((&done["id"], &done["type"]), (&json!("deep"), &json!("complete")), "{done}");

    sink.send(subscribe("shape", "{ products { nodes { a: __typename b: __typename } } }")).await.unwrap();
    let refused = answer().await;
    let errors = match refused["type"].as_str() {
        Some("error") => &refused["payload"],
        _ => &refused["payload"]["errors"],
    };
    assert_eq!(errors[0]["extensions"]["code"], "BAD_REQUEST", "{refused}");
    assert!(errors[0]["message"].as_str().unwrap().contains("`__typename` as both `a` and `b`"), "{refused}");
    if refused["type"] == "next" {
        assert_eq!(answer().await["type"], "complete");
    }

    let small = r#"{ product(id: "1") { factory { products(first: 2) { id factory { name } } } } }"#;
    sink.send(subscribe("small", small)).await.unwrap();
    let ran = answer().await;
    assert_eq!((&ran["id"], &ran["type"]), (&json!("small"), &json!("next")), "{ran}");
    assert_eq!(
        ran["payload"]["data"]["product"]["factory"]["products"].as_array().unwrap().len(),
        2,
        "{ran}"
    );
}

/// Fragments that each spread the next twice: 2^20 selections of `me`
/// from a document of 1 KiB. Spread anew at every use, as async-graphql's
/// own checks spread them, it would take minutes of CPU to refuse.
fn fragment_bomb(levels: usize) -> String {
    let mut document = String::from("{ ...F0 }");
    for level in 0..levels {
        document
            .push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
    }
    document + &format!(" fragment F{levels} on Query {{ me {{ id }} }}")
}

#[tokio::test]
async fn documents_whose_fragments_multiply_are_refused_by_their_shape() {
    let app = TestApp::new().await;
    let (res, statements) = app.counting(query(&app, &fragment_bomb(20), Some(GRAPHQL_RESPONSE))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.gql_code(), Some("BAD_REQUEST"), "{}", res.text);
    assert_eq!(
        res.body["errors"][0]["message"],
        "the document selects more than 20001 fields once its fragments are spread: ask for fewer fields"
    );
    assert_eq!(statements, 0);

    let cycle = "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }";
    let res = query(&app, cycle, Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body["errors"][0]["message"], "the fragment `A` spreads itself", "{}", res.text);

    // A fragment used many times is fine while the whole stays small.
    let reused = format!(
        "{{ {} }} fragment F on Query {{ me {{ id }} }}",
        (0..50)
            .map(|n| format!("a{n}: __type(name: \"Query\") {{ name }} ...F"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let res = query(&app, &reused, Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

#[tokio::test]
async fn typename_is_selected_under_one_name_per_selection_set() {
    let app = demo().await;
    // Free of cost, a thousand aliases of `__typename` in a page of 100
    // would answer 100,000 strings for a cost of 101.
    let aliases: Vec<String> = (0..1_000).map(|n| format!("t{n}: __typename")).collect();
    let many = format!("{{ products(first: 100) {{ nodes {{ {} }} }} }}", aliases.join(" "));
    let (res, statements) = app.counting(query(&app, &many, Some(GRAPHQL_RESPONSE))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", &res.text[..res.text.len().min(500)]);
    assert_eq!(res.gql_code(), Some("BAD_REQUEST"));
    let message = res.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("a selection set asks for `__typename` as both `t0` and `t1`"), "{message}");
    assert_eq!(statements, 0);
    // Through fragments, the same.
    let spread = "{ products { nodes { ...A ...B } } } fragment A on Product { a: __typename } fragment B on Product { b: __typename }";
    assert_eq!(query(&app, spread, Some(GRAPHQL_RESPONSE)).await.status, StatusCode::BAD_REQUEST);

    // One name, however often, and one per selection set, run.
    let fine = "{ __typename products(first: 2) { __typename nodes { __typename ...F ... on Product { __typename } factory { kind: __typename } } } } fragment F on Product { __typename id }";
    let res = query(&app, fine, Some(GRAPHQL_RESPONSE)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    assert_eq!(res.body["data"]["products"]["nodes"][0]["factory"]["kind"], "Factory", "{}", res.text);
}
