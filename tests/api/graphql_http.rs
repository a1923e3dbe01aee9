//! GraphQL over HTTP: media types and status codes, the operation limits
//! (depth, cost, batches), introspection, and GraphiQL's assets.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::post_graphql as post_with_accept;
use crate::common::{Res, TestApp};

/// The query GraphiQL sends on load (graphql-js `getIntrospectionQuery`),
/// deeper than 10 levels through its `ofType` chain.
const INTROSPECTION: &str = r"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}";

#[tokio::test]
async fn responses_follow_the_accept_header_and_status_rules() {
    let app = TestApp::new().await;
    let ok = post_with_accept(
        &app,
        json!({ "query": "{ stores { nodes { id } } }" }),
        Some("application/graphql-response+json"),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("content-type"), Some("application/graphql-response+json"));

    let legacy =
        post_with_accept(&app, json!({ "query": "{ stores { nodes { id } } }" }), Some("application/json"))
            .await;
    assert_eq!(legacy.header("content-type"), Some("application/json"));
    let none = post_with_accept(&app, json!({ "query": "{ stores { nodes { id } } }" }), None).await;
    assert_eq!(none.header("content-type"), Some("application/json"));

    // A request that cannot run: 400 without `data` for the new media
    // type, 200 with `data: null` for legacy JSON clients.
    let invalid = json!({ "query": "{ noSuchField }" });
    let strict = post_with_accept(&app, invalid.clone(), Some("application/graphql-response+json")).await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{}", strict.text);
    assert!(strict.body.get("data").is_none());
    assert!(strict.body["errors"][0]["message"].is_string());
    let lenient = post_with_accept(&app, invalid, Some("application/json")).await;
    assert_eq!(lenient.status, StatusCode::OK);
    assert_eq!(lenient.body["data"], Value::Null);

    // Resolver errors keep 200 on both.
    let resolver = post_with_accept(
        &app,
        json!({ "query": "mutation { createStore(input: { name: \"x\" }) { id } }" }),
        Some("application/graphql-response+json"),
    )
    .await;
    assert_eq!(resolver.status, StatusCode::OK);
    assert_eq!(resolver.gql_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn graphiqls_introspection_query_always_works() {
    let app = TestApp::new().await;
    let res = app.gql(INTROSPECTION, json!({}), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body.get("errors").is_none(), "{}", &res.text[..300.min(res.text.len())]);
    let types = res.body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "Product"));
}

#[tokio::test]
async fn deep_queries_are_refused_before_they_run() {
    let app = TestApp::new().await;
    // Ten levels: allowed (small lists keep them within the cost budget,
    // which is checked first).
    let ten = "{ products(first: 1) { nodes { factory { products(first: 1) { factory { products(first: 1) { factory { products(first: 1) { factory { name } } } } } } } } } }";
    let res = app.gql(ten, json!({}), None).await;
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    // Eleven: refused.
    let eleven = "{ products(first: 1) { nodes { factory { products(first: 1) { factory { products(first: 1) { factory { products(first: 1) { factory { products(first: 1) { id } } } } } } } } } } }";
    let res = app.gql(eleven, json!({}), None).await;
    assert_eq!(res.body["data"], Value::Null);
    assert!(
        res.body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("nested too deep"),
        "{}",
        res.text
    );
}

#[tokio::test]
async fn queries_over_the_complexity_budget_are_refused() {
    let app = TestApp::new().await;
    let fields: Vec<String> = (0..120).map(|n| format!("f{n}: name")).collect();
    let query = format!("{{ products(first: 100) {{ nodes {{ {} }} }} }}", fields.join(" "));
    let res = app.gql(&query, json!({}), None).await;
    assert_eq!(res.body["data"], Value::Null);
    assert_eq!(res.gql_code(), Some("BAD_REQUEST"), "{}", res.text);
    assert!(
        res.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the document costs 12101, over the budget of 10000: "),
        "{}",
        res.text
    );
    // The same selection on a page of 20 is within budget.
    let query = format!("{{ products(first: 20) {{ nodes {{ {} }} }} }}", fields.join(" "));
    assert!(app.gql(&query, json!({}), None).await.body.get("errors").is_none());
}

#[tokio::test]
async fn batches_of_up_to_ten_run_and_larger_ones_are_refused_whole() {
    let app = TestApp::new().await;
    let token = app.user_token("batch@example.com").await;
    let op = |n: usize| json!({ "query": format!("mutation {{ createStore(input: {{ name: \"B{n}\" }}) {{ id }} }}") });
    let eleven: Vec<Value> = (0..11).map(op).collect();
    let refused = app.post("/graphql", Some(&token), Value::Array(eleven)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.gql_code(), Some("BAD_REQUEST"));
    assert_eq!(app.get("/api/stores", None).await.body["data"], json!([]), "none of the batch ran");

    let ten: Vec<Value> = (0..10).map(op).collect();
    let ran = app.post("/graphql", Some(&token), Value::Array(ten)).await;
    assert_eq!(ran.status, StatusCode::OK);
    assert_eq!(ran.body.as_array().unwrap().len(), 10);
    assert_eq!(app.get("/api/stores?limit=100", None).await.body["data"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = TestApp::with_config(|c| c.graphql_introspection = false).await;
    let res = app.gql("{ __schema { types { name } } }", json!({}), None).await;
    // Nothing about the schema comes back (async-graphql answers null).
    assert!(res.body["data"].is_null() || res.body["data"]["__schema"].is_null(), "{}", res.text);
    assert!(!res.text.contains("Product"));
    let ordinary = app.gql("{ stores { nodes { id } } }", json!({}), None).await;
    assert!(ordinary.body.get("errors").is_none());
}

#[tokio::test]
async fn graphiql_serves_its_own_assets_or_says_where_they_come_from() {
    let app = TestApp::new().await;
    let page = app
        .send(
            Request::builder()
                .uri("/graphql")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/graphql/ws"), "the page wires subscriptions");
    let local = std::path::Path::new("assets/graphiql/graphiql.min.js").exists();
    if local {
        assert!(page.text.contains("/graphql/assets/graphiql.min.js"));
        assert!(!page.text.contains("unpkg.com"));
        let js = app.get("/graphql/assets/graphiql.min.js", None).await;
        assert_eq!(js.status, StatusCode::OK);
        assert_eq!(js.header("content-type"), Some("text/javascript"));
        let css = app.get("/graphql/assets/graphiql.min.css", None).await;
        assert_eq!(css.header("content-type"), Some("text/css"));
    } else {
        assert!(page.text.contains("https://unpkg.com/graphiql@4.1.2/graphiql.min.js"));
    }
    app.get("/graphql/assets/..%2F..%2FCargo.toml", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get("/graphql/assets/other.js", None).await.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn products_page(app: &TestApp, query: &str, first: Value) -> Res {
    let body = json!({ "query": query, "variables": { "first": first } });
    post_with_accept(app, body, Some("application/graphql-response+json")).await
}

/// A document that passed every validation rule once skips the rules that
/// look at the document alone; its variables are still checked, and the
/// limits still apply, with the same answers as on the first run.
#[tokio::test]
async fn known_documents_skip_only_the_rules_their_variables_cannot_change() {
    let app = TestApp::new().await;
    let unseen = TestApp::new().await;
    let fields: Vec<String> = (0..120).map(|n| format!("f{n}: name")).collect();
    let query = format!(
        "query KnownDocumentProbe($first: Int) {{ products(first: $first) {{ nodes {{ {} }} }} }}",
        fields.join(" ")
    );

    for _ in 0..3 {
        let ok = products_page(&app, &query, json!(20)).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
        assert!(ok.body.get("errors").is_none(), "{}", ok.text);
    }
    let metrics = app.get("/metrics", None).await.text;
    let counted = |rules: &str| operations_counted(&metrics, "KnownDocumentProbe", rules);
    assert_eq!(counted("checked").as_deref(), Some("1"), "{metrics}");
    assert_eq!(counted("skipped").as_deref(), Some("2"), "{metrics}");

    // Variables that are no plain Int: the same answer as from a server
    // that has never seen the document (for "twenty", the rules' 400).
    for bad in [json!("twenty"), json!(1.5), json!(3_000_000_000_i64)] {
        let known = products_page(&app, &query, bad.clone()).await;
        let fresh = products_page(&unseen, &query, bad.clone()).await;
        assert_eq!((known.status, &known.body), (fresh.status, &fresh.body), "{bad}");
        assert!(known.body.get("errors").is_some(), "{bad}: {}", known.text);
    }
    let refused = products_page(&app, &query, json!("twenty")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.body["errors"][0]["message"].as_str().unwrap().contains("Invalid value"),
        "{}",
        refused.text
    );
    // The cost budget still follows the variables: 100 nodes × 120 fields.
    let over = products_page(&app, &query, json!(100)).await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{}", over.text);
    assert_eq!(over.body, products_page(&unseen, &query, json!(100)).await.body);
    assert!(over.body["errors"][0]["message"].as_str().unwrap().starts_with("the document costs 12101, "));
}

fn operations_counted(metrics: &str, operation: &str, rules: &str) -> Option<String> {
    let series =
        format!(r#"graphql_operations_total{{operation="{operation}",type="operation",rules="{rules}"}} "#);
    metrics.lines().find_map(|line| line.strip_prefix(series.as_str())).map(str::to_owned)
}

/// A document that passed every rule once skips the rules that look at the
/// document alone; later requests answer as a server that never saw the
/// document does. Variables that are not plainly of their type still take
/// the full rules, and depth and cost are checked every time.
#[tokio::test]
async fn known_documents_answer_as_fresh_ones_and_keep_their_limits() {
    let app = TestApp::new().await;
    let unseen = TestApp::new().await;
    for server in [&app, &unseen] {
        let token = server.user_token("known@example.com").await;
        server.store(&token, "Corner shop").await;
    }
    let query =
        "query KnownProbe($on: Boolean!) { stores(first: 5) { nodes { id name @include(if: $on) } } }";
    let body = |on: Value| json!({ "query": query, "variables": { "on": on } });

    let mut answers = Vec::new();
    for on in [true, false, true] {
        let res = post_with_accept(&app, body(json!(on)), Some("application/graphql-response+json")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(res.body.get("errors").is_none(), "{}", res.text);
        assert_eq!(res.body["data"]["stores"]["nodes"][0].get("name").is_some(), on, "{}", res.text);
        answers.push((on, res.body));
    }
    let metrics = app.get("/metrics", None).await.text;
    assert_eq!(operations_counted(&metrics, "KnownProbe", "checked").as_deref(), Some("1"), "{metrics}");
    assert_eq!(operations_counted(&metrics, "KnownProbe", "skipped").as_deref(), Some("2"), "{metrics}");
    for (on, answer) in answers {
        let fresh =
            post_with_accept(&unseen, body(json!(on)), Some("application/graphql-response+json")).await;
        assert_eq!(answer, fresh.body, "on: {on}");
    }

    // A string for the Boolean: the rules' 400, as on a fresh server.
    let known = post_with_accept(&app, body(json!("yes")), Some("application/graphql-response+json")).await;
    let fresh =
        post_with_accept(&unseen, body(json!("yes")), Some("application/graphql-response+json")).await;
    assert_eq!(known.status, StatusCode::BAD_REQUEST, "{}", known.text);
    assert_eq!((known.status, &known.body), (fresh.status, &fresh.body));

    // 100 nodes × 120 fields, written into the document: over the budget
    // every time.
    let fields: Vec<String> = (0..120).map(|n| format!("f{n}: name")).collect();
    let over = format!("query KnownOver {{ products(first: 100) {{ nodes {{ {} }} }} }}", fields.join(" "));
    for _ in 0..3 {
        let res =
            post_with_accept(&app, json!({ "query": over }), Some("application/graphql-response+json")).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        let message = res.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("the document costs 12101, over the budget of 10000: "), "{message}");
    }
    let metrics = app.get("/metrics", None).await.text;
    assert_eq!(operations_counted(&metrics, "KnownOver", "checked").as_deref(), Some("3"), "{metrics}");
    assert_eq!(operations_counted(&metrics, "KnownOver", "skipped"), None, "{metrics}");
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn get_graphql(app: &TestApp, params: &[(&str, String)]) -> Res {
    let query = serde_urlencoded::to_string(params).expect("encodes");
    app.get(&format!("/graphql?{query}"), None).await
}

#[tokio::test]
async fn persisted_queries_run_by_hash_once_their_document_was_sent() {
    let app = TestApp::new().await;
    let token = app.user_token("apq@example.com").await;
    let store = app.store(&token, "Hashed").await;
    let query = "query Store($id: ID!) { store(id: $id) { name } }";
    let hash = sha256_hex(query);
    let variables = json!({ "id": store.to_string() });

    // The hash alone, before the document was ever sent: Apollo's miss,
    // which its clients answer by sending the document with the hash.
    let miss =
        post_with_accept(&app, json!({ "variables": variables, "extensions": persisted(&hash) }), None).await;
    assert_eq!(miss.status, StatusCode::OK, "{}", miss.text);
    assert_eq!(miss.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(miss.gql_code(), Some("PERSISTED_QUERY_NOT_FOUND"));
    assert!(miss.body.get("data").is_none_or(Value::is_null), "{}", miss.text);
    let strict = post_with_accept(
        &app,
        json!({ "variables": variables, "extensions": persisted(&hash) }),
        Some("application/graphql-response+json"),
    )
    .await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST, "a request that could not run: {}", strict.text);

    let sent = post_with_accept(
        &app,
        json!({ "query": query, "variables": variables, "extensions": persisted(&hash) }),
        None,
    )
    .await;
    assert_eq!(sent.body, json!({ "data": { "store": { "name": "Hashed" } } }), "{}", sent.text);

    let by_hash =
        post_with_accept(&app, json!({ "variables": variables, "extensions": persisted(&hash) }), None).await;
    assert_eq!(by_hash.body, sent.body, "{}", by_hash.text);
    let upper = post_with_accept(
        &app,
        json!({ "variables": variables, "extensions": persisted(&hash.to_ascii_uppercase()) }),
        None,
    )
    .await;
    assert_eq!(upper.body, sent.body, "hex digits in either case: {}", upper.text);
    let over_get = get_graphql(
        &app,
        &[("variables", variables.to_string()), ("extensions", persisted(&hash).to_string())],
    )
    .await;
    assert_eq!(over_get.status, StatusCode::OK, "{}", over_get.text);
    assert_eq!(over_get.body, sent.body, "{}", over_get.text);
}

#[tokio::test]
async fn persisted_queries_refuse_wrong_hashes_bad_extensions_and_mutations_over_get() {
    let app = TestApp::new().await;
    let query = "{ stores { nodes { id } } }";
    let wrong = sha256_hex("{ stores { nodes { name } } }");
    let mismatch =
        post_with_accept(&app, json!({ "query": query, "extensions": persisted(&wrong) }), None).await;
    assert_eq!(
        mismatch.body["errors"][0]["message"], "provided sha does not match query",
        "{}",
        mismatch.text
    );
    assert_eq!(mismatch.gql_code(), Some("BAD_REQUEST"));
    assert!(mismatch.body.get("data").is_none_or(Value::is_null), "nothing ran: {}", mismatch.text);
    let never_kept = post_with_accept(&app, json!({ "extensions": persisted(&wrong) }), None).await;
    assert_eq!(never_kept.gql_code(), Some("PERSISTED_QUERY_NOT_FOUND"), "a mismatch is not kept");

    for (extension, says) in [
        (json!({ "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(query) } }), "version 2"),
        (json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }), "64 hex digits"),
        (json!({ "persistedQuery": "abc" }), "64 hex digits"),
    ] {
        let refused = post_with_accept(&app, json!({ "query": query, "extensions": extension }), None).await;
        assert_eq!(refused.gql_code(), Some("BAD_REQUEST"), "{}", refused.text);
        let message = refused.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
    }

    // A mutation registered over POST is still a mutation when its hash
    // comes over GET: refused, and nothing is created.
    let token = app.admin_token("apq-admin@example.com").await;
    let mutation = r#"mutation { createStore(input: { name: "By Hash" }) { id } }"#;
    let hash = sha256_hex(mutation);
    let created = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(json!({ "query": mutation, "extensions": persisted(&hash) }).to_string()))
                .unwrap(),
        )
        .await;
    assert!(created.body["data"]["createStore"]["id"].is_string(), "{}", created.text);
    let over_get = app
        .send(
            Request::builder()
                .method(Method::GET)
                .uri(format!(
                    "/graphql?{}",
                    serde_urlencoded::to_string([("extensions", persisted(&hash).to_string())]).unwrap()
                ))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(over_get.status, StatusCode::METHOD_NOT_ALLOWED, "{}", over_get.text);
    let stores = app.gql(r#"{ stores { nodes { name } } }"#, json!({}), None).await;
    let named = stores.body["data"]["stores"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "By Hash")
        .count();
    assert_eq!(named, 1, "created once, over POST: {}", stores.text);
}

/// Selections with the same response key merge into one object: within
/// an object whose fields resolve in order (`Product`), in the order first
/// selected; lists element by element; also when the document is run
/// again from the cache. Root fields resolve concurrently, so the order of
/// a merged root field's keys is not fixed; only their values are compared
/// there.
#[tokio::test]
async fn selections_of_one_response_key_merge() {
    let app = TestApp::new().await;
    storegate::domain::demo::seed(&app.db).await.unwrap();
    let query = r#"query($id: ID!) {
        product(id: $id) { id factory { id } factory { name } ... on Product { name factory { id } } }
        products(first: 2) { nodes { id } nodes { name } }
    }"#;
    for _ in 0..3 {
        let res = app.gql(query, json!({ "id": "7" }), None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let factory_id = res.body["data"]["product"]["factory"]["id"].as_str().unwrap();
        let factory_name = res.body["data"]["product"]["factory"]["name"].as_str().unwrap();
        let product = format!(
            r#""product":{{"id":"7","factory":{{"id":"{factory_id}","name":"{factory_name}"}},"name":"Demo Product 7"}}"#
        );
        assert!(res.text.contains(&product), "{}", res.text);
        assert_eq!(
            res.body["data"]["products"]["nodes"],
            json!([{ "id": "1", "name": "Demo Product 1" }, { "id": "2", "name": "Demo Product 2" }])
        );
    }
}
