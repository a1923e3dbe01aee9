//! GraphQL over HTTP: media types and status codes, the operation limits
//! (depth, complexity, batches), introspection, and GraphiQL's assets.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

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

async fn post_with_accept(app: &TestApp, body: Value, accept: Option<&str>) -> Res {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(accept) = accept {
        builder = builder.header(header::ACCEPT, accept);
    }
    app.send(builder.body(Body::from(body.to_string())).unwrap()).await
}

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
    // Ten levels: allowed.
    let ten = "{ products { nodes { factory { products { factory { products { factory { products { factory { name } } } } } } } } } }";
    let res = app.gql(ten, json!({}), None).await;
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    // Eleven: refused.
    let eleven = "{ products { nodes { factory { products { factory { products { factory { products { factory { products { id } } } } } } } } } } }";
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
    let fields: Vec<String> = (0..60).map(|n| format!("f{n}: name")).collect();
    let query = format!("{{ products(first: 100) {{ nodes {{ {} }} }} }}", fields.join(" "));
    let res = app.gql(&query, json!({}), None).await;
    assert_eq!(res.body["data"], Value::Null);
    assert!(
        res.body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("complex"),
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
    let fields: Vec<String> = (0..60).map(|n| format!("f{n}: name")).collect();
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
    let counted = |rules: &str| {
        let series = format!(
            r#"graphql_operations_total{{operation="KnownDocumentProbe",type="operation",rules="{rules}"}} "#
        );
        metrics.lines().find_map(|line| line.strip_prefix(series.as_str())).map(str::to_owned)
    };
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
    // The complexity limit still follows the variables: 100 nodes × 60 fields.
    let over = products_page(&app, &query, json!(100)).await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{}", over.text);
    assert_eq!(over.body, products_page(&unseen, &query, json!(100)).await.body);
    assert!(over.body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("complex"));
}
