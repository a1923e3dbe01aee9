//! `Idempotency-Key` on creates (docs/API.md §3.2): retries replay the
//! first answer and create nothing, even when they race; keys are per user.

use axum::http::{Method, StatusCode};
use chrono::{TimeDelta, Utc};
use entity::idempotency_key;
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Res, TestApp, require_postgres};
use crate::conditional::send_with;

async fn post_with_key(app: &TestApp, path: &str, token: Option<&str>, key: &str, body: &Value) -> Res {
    send_with(app, Method::POST, path, token, &[("idempotency-key", key)], Some(body.clone())).await
}

async fn count_items(app: &TestApp, store: i64) -> usize {
    let list = app.get(&format!("/api/items?store_id={store}&limit=100"), None).await;
    list.body["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_retry_replays_the_first_answer_and_creates_nothing() {
    let app = TestApp::new().await;
    let token = app.user_token("retry@example.com").await;
    let store = app.store(&token, "Retry").await;
    let body = json!({ "name": "Tea", "price": 2.5, "store_id": store });

    let first = post_with_key(&app, "/api/items", Some(&token), "key-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post_with_key(&app, "/api/items", Some(&token), "key-1", &body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.text, first.text);
    assert_eq!(again.header("location"), first.header("location"));
    assert!(again.header("location").is_some());
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count_items(&app, store).await, 1);

    // Another key is another create.
    let other = post_with_key(&app, "/api/items", Some(&token), "key-2", &body).await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.body["id"], first.body["id"]);
    assert_eq!(count_items(&app, store).await, 2);
}

/// Eight retries of one create, all at once: exactly one item is made.
/// The claimant answers 201; a retry that finds the first still running
/// is told so (409), one that comes after gets the same 201 again.
async fn racing_retries_create_exactly_once(app: &TestApp) {
    let token = app.user_token("racer@example.com").await;
    let store = app.store(&token, "Racing").await;
    let body = json!({ "name": "Tea", "price": 2.5, "store_id": store });
    let answers = futures_util::future::join_all(
        (0..8).map(|_| post_with_key(app, "/api/items", Some(&token), "one-key", &body)),
    )
    .await;
    assert_eq!(count_items(app, store).await, 1, "exactly one item");
    let created: Vec<&Res> = answers.iter().filter(|res| res.status == StatusCode::CREATED).collect();
    assert!(!created.is_empty());
    for res in &answers {
        if res.status != StatusCode::CREATED {
            res.assert_problem(StatusCode::CONFLICT, "CONFLICT");
        }
    }
    for res in &created {
        assert_eq!(res.text, created[0].text, "every 201 is the same answer");
        assert_eq!(res.header("location"), created[0].header("location"));
    }
    let later = post_with_key(app, "/api/items", Some(&token), "one-key", &body).await;
    assert_eq!(later.status, StatusCode::CREATED);
    assert_eq!(later.text, created[0].text);
    assert_eq!(later.header("location"), created[0].header("location"));
    assert_eq!(count_items(app, store).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_create_exactly_once_on_this_database() {
    racing_retries_create_exactly_once(&TestApp::new().await).await;
}

#[ignore = "needs TEST_DATABASE_URL; .ci/run runs it with --include-ignored"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_create_exactly_once_on_postgres() {
    require_postgres();
    for _ in 0..3 {
        racing_retries_create_exactly_once(&TestApp::new().await).await;
    }
}

#[tokio::test]
async fn keys_of_different_users_never_meet() {
    let app = TestApp::new().await;
    let ann = app.user_token("ann@example.com").await;
    let bob = app.user_token("bob@example.com").await;
    let body = json!({ "title": "Same title" });
    let first = post_with_key(&app, "/api/todos", Some(&ann), "shared", &body).await;
    let second = post_with_key(&app, "/api/todos", Some(&bob), "shared", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_eq!(second.header("idempotent-replayed"), None, "not Ann's answer");
    assert_ne!(first.body["id"], second.body["id"]);
    assert_eq!(app.get("/api/todos", Some(&bob)).await.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/todos", Some(&ann)).await.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_422() {
    let app = TestApp::new().await;
    let token = app.user_token("other@example.com").await;
    let first = post_with_key(&app, "/api/todos", Some(&token), "k", &json!({ "title": "One" })).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other = post_with_key(&app, "/api/todos", Some(&token), "k", &json!({ "title": "Two" })).await;
    other.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(other.error_fields(), ["Idempotency-Key"]);
    // The same body on another collection is another request too.
    let elsewhere = post_with_key(&app, "/api/stores", Some(&token), "k", &json!({ "title": "One" })).await;
    elsewhere.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(app.get("/api/todos", Some(&token)).await.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_create_frees_its_key() {
    let app = TestApp::new().await;
    let token = app.user_token("fix@example.com").await;
    let store = app.store(&token, "Fix").await;
    let bad =
        post_with_key(&app, "/api/items", Some(&token), "fix", &json!({ "name": "", "store_id": store }))
            .await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(bad.error_fields(), ["name", "price"]);
    let fixed = json!({ "name": "Tea", "price": 1, "store_id": store });
    let good = post_with_key(&app, "/api/items", Some(&token), "fix", &fixed).await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.text);
    assert_eq!(count_items(&app, store).await, 1);
}

#[tokio::test]
async fn keys_are_1_to_255_characters_and_need_a_user() {
    let app = TestApp::new().await;
    let token = app.user_token("keys@example.com").await;
    let body = json!({ "title": "T" });
    for key in [String::new(), "k".repeat(256)] {
        let res = post_with_key(&app, "/api/todos", Some(&token), &key, &body).await;
        res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
        assert_eq!(res.error_fields(), ["Idempotency-Key"]);
    }
    let longest = post_with_key(&app, "/api/todos", Some(&token), &"k".repeat(255), &body).await;
    assert_eq!(longest.status, StatusCode::CREATED, "{}", longest.text);
    let anonymous = post_with_key(&app, "/api/todos", None, "anon", &body).await;
    anonymous.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(idempotency_key::Entity::find().count(&app.db).await.unwrap(), 1, "nothing kept for failures");
}

/// The fingerprint the server computes: method, path, exact body bytes.
fn fingerprint(path: &str, body: &Value) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("POST {path}\n{body}").as_bytes());
    hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn plant_claim(app: &TestApp, user_id: i32, key: &str, fingerprint: String, age: TimeDelta) {
    let row = idempotency_key::ActiveModel {
        user_id: Set(user_id),
        key: Set(key.into()),
        fingerprint: Set(fingerprint),
        status: Set(None),
        location: Set(None),
        body: Set(None),
        created_at: Set(Utc::now() - age),
    };
    idempotency_key::Entity::insert(row).exec_without_returning(&app.db).await.unwrap();
}

#[tokio::test]
async fn a_retry_while_the_first_runs_is_409_and_an_abandoned_claim_is_taken_over() {
    let app = TestApp::new().await;
    let token = app.user_token("running@example.com").await;
    let me = app.get("/api/auth/me", Some(&token)).await.body["id"].as_i64().unwrap() as i32;
    let body = json!({ "title": "Running" });

    plant_claim(&app, me, "running", fingerprint("/api/todos", &body), TimeDelta::seconds(1)).await;
    let busy = post_with_key(&app, "/api/todos", Some(&token), "running", &body).await;
    busy.assert_problem(StatusCode::CONFLICT, "CONFLICT");

    // A claim unanswered for longer than any request runs was left by a
    // server that stopped: a retry takes it over.
    plant_claim(&app, me, "abandoned", fingerprint("/api/todos", &body), TimeDelta::minutes(11)).await;
    let taken = post_with_key(&app, "/api/todos", Some(&token), "abandoned", &body).await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.text);

    // A key older than a day is gone, even before the purge runs.
    plant_claim(&app, me, "expired", "another request".into(), TimeDelta::hours(25)).await;
    let fresh = post_with_key(&app, "/api/todos", Some(&token), "expired", &body).await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
}

#[tokio::test]
async fn the_purge_removes_keys_older_than_a_day() {
    let app = TestApp::new().await;
    let token = app.user_token("purge@example.com").await;
    let me = app.get("/api/auth/me", Some(&token)).await.body["id"].as_i64().unwrap() as i32;
    plant_claim(&app, me, "old", "x".into(), TimeDelta::hours(25)).await;
    plant_claim(&app, me, "new", "x".into(), TimeDelta::hours(23)).await;
    let purged = storegate::domain::idempotency::purge_expired(&app.db).await.unwrap();
    assert_eq!(purged, 1);
    let left: Vec<String> =
        idempotency_key::Entity::find().all(&app.db).await.unwrap().into_iter().map(|row| row.key).collect();
    assert_eq!(left, ["new"]);
}
