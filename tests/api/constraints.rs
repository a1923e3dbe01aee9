//! Unique violations are mapped by the constraint the database names: a
//! known one is a 409 on its rule, any other an internal error.

use axum::http::StatusCode;
use entity::{store, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use serde_json::json;
use storegate::domain::constraints::{self, Unique};

use crate::common::TestApp;

fn violated<T: std::fmt::Debug>(result: Result<T, DbErr>) -> Option<Unique> {
    constraints::violated(&result.expect_err("a second insert of the same row"))
}

#[tokio::test]
async fn each_unique_constraint_is_known_by_its_name() {
    let app = TestApp::new().await;
    let now = chrono::Utc::now();
    let account = user::ActiveModel {
        email: Set("twice@example.com".into()),
        password_hash: Set("not a hash".into()),
        is_admin: Set(false),
        created_at: Set(now),
        token_generation: Set(0),
        ..Default::default()
    };
    account.clone().insert(&app.db).await.unwrap();
    assert_eq!(violated(account.insert(&app.db).await), Some(Unique::UserEmail));
    let shop = store::ActiveModel {
        name: Set("Twice".into()),
        name_key: Set("twice".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    shop.clone().insert(&app.db).await.unwrap();
    assert_eq!(violated(shop.insert(&app.db).await), Some(Unique::StoreName));
    // A primary key is unique too, but no rule a client can break.
    let with_id = |name: &str| store::ActiveModel {
        id: Set(4242),
        name: Set(name.into()),
        name_key: Set(name.to_lowercase()),
        owner_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    with_id("First").insert(&app.db).await.unwrap();
    assert_eq!(violated(with_id("Second").insert(&app.db).await), None);
    // The product SKU's 409 is covered through the API (catalog.rs).
}

#[tokio::test]
async fn a_unique_violation_of_another_constraint_is_not_a_name_conflict() {
    let app = TestApp::new().await;
    let token = app.user_token("u@example.com").await;
    // An index the domain does not know: two names of one length collide.
    app.db
        .execute_unprepared("CREATE UNIQUE INDEX stores_name_length_key ON stores ((length(name)))")
        .await
        .unwrap();
    app.store(&token, "Alpha").await;
    let refused = app.post("/api/stores", Some(&token), json!({ "name": "Bravo" })).await;
    refused.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL");
    assert!(!refused.text.contains("Bravo"), "{}", refused.text);
}
