//! Validators and preconditions (docs/API.md §3.2): `ETag` on single
//! resources, `If-None-Match` → 304, `If-Match` → 412, and racing
//! conditional writes of which exactly one wins.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use storegate::config::CorsOrigins;

use crate::common::{Res, TestApp, require_postgres};

/// A request with `headers` (and a JSON body when given).
pub async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Res {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    app.send(request).await
}

fn etag(res: &Res) -> String {
    res.header("etag").unwrap_or_else(|| panic!("no ETag: {} {}", res.status, res.text)).to_string()
}

#[tokio::test]
async fn a_current_tag_is_304_until_a_write_changes_the_representation() {
    let app = TestApp::new().await;
    let token = app.user_token("tags@example.com").await;
    let store = app.store(&token, "Tagged").await;
    let item = app.item(&token, store, "Tea", 2.5).await;
    let path = format!("/api/stores/{store}");

    let first = app.get(&path, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let tag = etag(&first);
    assert!(tag.starts_with('"') && tag.ends_with('"'), "a strong tag: {tag}");

    for sent in [tag.clone(), format!("\"other\", {tag}"), format!("W/{tag}"), "*".to_string()] {
        let cached = send_with(&app, Method::GET, &path, None, &[("if-none-match", &sent)], None).await;
        assert_eq!(cached.status, StatusCode::NOT_MODIFIED, "If-None-Match: {sent}");
        assert!(cached.text.is_empty(), "a 304 has no body: {}", cached.text);
        assert_eq!(etag(&cached), tag);
    }
    let stale = send_with(&app, Method::GET, &path, None, &[("if-none-match", "\"other\"")], None).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, first.body);

    // The store embeds its items: renaming one changes the store's tag.
    let renamed =
        app.patch(&format!("/api/items/{item}"), Some(&token), json!({ "name": "Green tea" })).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let after = send_with(&app, Method::GET, &path, None, &[("if-none-match", &tag)], None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_ne!(etag(&after), tag);
    assert_eq!(after.body["items"][0]["name"], "Green tea");
}

#[tokio::test]
async fn creates_and_writes_answer_the_tag_a_later_get_gives() {
    let app = TestApp::new().await;
    let token = app.user_token("writes@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let store = app.store(&token, "Corner").await;
    let factory = app
        .post(
            "/api/factories",
            Some(&admin),
            json!({ "name": "Works", "address": "1 Road", "city": "Lyon", "country": "FR" }),
        )
        .await;
    assert_eq!(factory.status, StatusCode::CREATED, "{}", factory.text);
    let factory_id = factory.body["id"].as_i64().unwrap();
    let creates = [
        ("/api/stores", &token, json!({ "name": "Second" }), json!({ "name": "Second, renamed" })),
        (
            "/api/items",
            &token,
            json!({ "name": "Tea", "price": 1.5, "store_id": store }),
            json!({ "price": 2 }),
        ),
        (
            "/api/factories",
            &admin,
            json!({ "name": "F", "address": "A", "city": "C", "country": "DE" }),
            json!({ "city": "Bonn" }),
        ),
        (
            "/api/products",
            &token,
            json!({ "sku": "SKU-1", "name": "P", "price": 3, "factory_id": factory_id }),
            json!({ "name": "Q" }),
        ),
        ("/api/todos", &token, json!({ "title": "Write tests" }), json!({ "status": "completed" })),
    ];
    for (collection, who, body, patch) in creates {
        let created = app.post(collection, Some(who), body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{collection}: {}", created.text);
        let location = created.header("location").unwrap().to_string();
        let read = app.get(&location, Some(who)).await;
        assert_eq!(etag(&read), etag(&created), "{collection}: the 201 and the GET share a tag");

        let patched = send_with(
            &app,
            Method::PATCH,
            &location,
            Some(who),
            &[("if-match", &etag(&created))],
            Some(patch),
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK, "{collection}: {}", patched.text);
        assert_ne!(etag(&patched), etag(&created), "{collection}: a write changes the tag");
        let reread = app.get(&location, Some(who)).await;
        assert_eq!(etag(&reread), etag(&patched), "{collection}: the 200 and the GET share a tag");
        assert_eq!(reread.body, patched.body);
    }
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::new().await;
    let token = app.user_token("stale@example.com").await;
    let admin = app.admin_token("boss@example.com").await;
    let store = app.store(&token, "Stale").await;
    let item = app.item(&token, store, "Tea", 2.5).await;
    let path = format!("/api/items/{item}");
    let old = etag(&app.get(&path, None).await);
    let changed = app.patch(&path, Some(&token), json!({ "price": 3 })).await;
    assert_eq!(changed.status, StatusCode::OK);
    let current = etag(&changed);

    let refused = send_with(
        &app,
        Method::PATCH,
        &path,
        Some(&token),
        &[("if-match", &old)],
        Some(json!({ "price": 9 })),
    )
    .await;
    refused.assert_problem(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let put = json!({ "name": "Other", "price": 9, "store_id": store });
    let refused =
        send_with(&app, Method::PUT, &path, Some(&token), &[("if-match", &old)], Some(put.clone())).await;
    refused.assert_problem(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    // A weak tag never satisfies If-Match (strong comparison).
    let weak = format!("W/{current}");
    let refused =
        send_with(&app, Method::PUT, &path, Some(&token), &[("if-match", &weak)], Some(put.clone())).await;
    refused.assert_problem(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let refused = send_with(&app, Method::DELETE, &path, Some(&admin), &[("if-match", &old)], None).await;
    refused.assert_problem(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");

    let now = app.get(&path, None).await;
    assert_eq!(now.body, changed.body, "nothing changed");
    assert_eq!(etag(&now), current);

    // The store's tag covers its items too: a write with its old tag fails.
    let store_path = format!("/api/stores/{store}");
    let refused = send_with(
        &app,
        Method::PATCH,
        &store_path,
        Some(&token),
        &[("if-match", "\"not-the-tag\"")],
        Some(json!({ "name": "Renamed" })),
    )
    .await;
    refused.assert_problem(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    assert_eq!(app.get(&store_path, None).await.body["name"], "Stale");

    // The current tag (or one in a list, or `*`) lets the write through.
    let list = format!("\"other\", {current}");
    let replaced = send_with(&app, Method::PUT, &path, Some(&token), &[("if-match", &list)], Some(put)).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    let gone = send_with(&app, Method::DELETE, &path, Some(&admin), &[("if-match", "*")], None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    assert_eq!(app.get(&path, None).await.status, StatusCode::NOT_FOUND);
}

/// Two PATCHes holding the same tag, run at once: one wins, the other is
/// told the resource changed, and the winner's write is what remains.
async fn racing_conditional_writes_let_exactly_one_win(app: &TestApp) {
    let token = app.user_token("race@example.com").await;
    let store = app.store(&token, "Race").await;
    let item = app.item(&token, store, "Tea", 2.5).await;
    let path = format!("/api/items/{item}");
    let tag = etag(&app.get(&path, None).await);
    let write = |name: &'static str| {
        let (path, token, tag) = (path.clone(), token.clone(), tag.clone());
        async move {
            send_with(
                app,
                Method::PATCH,
                &path,
                Some(&token),
                &[("if-match", &tag)],
                Some(json!({ "name": name })),
            )
            .await
        }
    };
    let (first, second) = tokio::join!(write("First"), write("Second"));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
        "{} / {}",
        first.text,
        second.text
    );
    let winner = if first.status == StatusCode::OK { &first } else { &second };
    let now = app.get(&path, None).await;
    assert_eq!(now.body, winner.body);
    assert_eq!(etag(&now), etag(winner));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_conditional_writes_let_exactly_one_win_on_this_database() {
    racing_conditional_writes_let_exactly_one_win(&TestApp::new().await).await;
}

#[ignore = "needs TEST_DATABASE_URL; .ci/run runs it with --include-ignored"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_conditional_writes_let_exactly_one_win_on_postgres() {
    require_postgres();
    for _ in 0..5 {
        racing_conditional_writes_let_exactly_one_win(&TestApp::new().await).await;
    }
}

#[tokio::test]
async fn graphql_writes_stay_unconditional_and_report_the_shared_code_vocabulary() {
    // GraphQL has no If-Match: its writes pass no expectation and proceed.
    let app = TestApp::new().await;
    let token = app.user_token("gql@example.com").await;
    let store = app.store(&token, "Graph").await;
    let res = app
        .gql(
            "mutation($id: ID!) { updateStore(id: $id, input: {name: \"Renamed\"}) { name } }",
            json!({ "id": store.to_string() }),
            Some(&token),
        )
        .await;
    assert_eq!(res.body["data"]["updateStore"]["name"], "Renamed", "{}", res.text);
}

#[tokio::test]
async fn browsers_may_send_the_precondition_and_key_headers_and_read_the_tag() {
    let app = TestApp::with_config(|c| {
        c.cors_allowed_origins = CorsOrigins::List(vec!["https://shop.example".into()])
    })
    .await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/stores/1")
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "if-match,if-none-match,idempotency-key")
        .body(Body::empty())
        .unwrap();
    let allowed = app.send(preflight).await;
    let headers = allowed.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for name in ["if-match", "if-none-match", "idempotency-key"] {
        assert!(headers.contains(name), "{name} not allowed: {headers}");
    }
    let token = app.user_token("cors@example.com").await;
    let store = app.store(&token, "Cors").await;
    let read = send_with(
        &app,
        Method::GET,
        &format!("/api/stores/{store}"),
        None,
        &[("origin", "https://shop.example")],
        None,
    )
    .await;
    let exposed = read.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(exposed.contains("etag") && exposed.contains("idempotent-replayed"), "{exposed}");
}

/// On SQLite, whose database has one write lock, this process's resource
/// writes take turns (`WriteGate`): a write waits while another writer
/// holds the turn and runs once it is let go, instead of polling the lock
/// in SQLite's busy handler. PostgreSQL locks rows and queues nothing.
#[tokio::test]
async fn sqlite_writes_take_turns_and_postgres_writes_do_not() {
    use sea_orm::DbBackend;

    let app = TestApp::new().await;
    let token = app.user_token("turns@example.com").await;
    let todo =
        app.post("/api/todos", Some(&token), json!({"title": "wait"})).await.body["id"].as_i64().unwrap();
    let turn = app.state.writes.turn().await;
    let path = format!("/api/todos/{todo}");
    let patch = app.patch(&path, Some(&token), json!({"title": "done"}));
    tokio::pin!(patch);
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut patch).await;
    match app.db.get_database_backend() {
        DbBackend::Sqlite => assert!(early.is_err(), "the write ran during another writer's turn"),
        _ => assert_eq!(early.expect("PostgreSQL writes do not queue").status, StatusCode::OK),
    }
    if app.db.get_database_backend() == DbBackend::Sqlite {
        // Reads do not queue: the waiting write has changed nothing yet.
        let res = app.get(&path, Some(&token)).await;
        assert_eq!(res.body["title"], "wait", "{}", res.text);
        drop(turn);
        let done = patch.await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    }
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.body["title"], "done");
}
