//! The token lifecycle: refresh (rotation: sessions.rs), fresh tokens, logout through the
//! blocklist (database or Redis), shared revocations across instances,
//! failing closed when Redis is away, and login throttling.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{PASSWORD, Res, TestApp, require_redis};

const ME: &str = "{ me { email } }";

async fn login_pair(app: &TestApp, email: &str) -> (String, String) {
    let res = app.post("/api/auth/login", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    (res.body["access_token"].as_str().unwrap().into(), res.body["refresh_token"].as_str().unwrap().into())
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Res {
    app.call(Method::POST, "/api/auth/refresh", Some(refresh_token), None).await
}

fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL").ok().filter(|url| !url.is_empty())
}

#[tokio::test]
async fn refresh_mints_access_tokens_that_are_not_fresh() {
    let app = TestApp::new().await;
    app.user_token("r@example.com").await;
    let (access, refresh_token) = login_pair(&app, "r@example.com").await;

    let res = refresh(&app, &refresh_token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["token_type"], "Bearer");
    assert_eq!(res.body["expires_in"], 900);
    // The refresh token rotates: the answer carries its successor.
    let next_refresh = res.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(next_refresh, refresh_token);
    assert!(app.state.tokens.verify(&next_refresh, storegate::auth::TokenKind::Refresh).is_ok());
    let renewed = res.body["access_token"].as_str().unwrap();
    assert_ne!(renewed, access);
    let claims = app.state.tokens.verify(renewed, storegate::auth::TokenKind::Access).unwrap();
    assert!(!claims.fresh);

    // Reads and store writes work; item writes ask for a fresh token.
    assert_eq!(app.get("/api/auth/me", Some(renewed)).await.status, StatusCode::OK);
    let store = app.store(renewed, "Refreshed").await;
    app.post("/api/items", Some(renewed), json!({ "name": "x", "price": 1, "store_id": store }))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "FRESH_TOKEN_REQUIRED");

    // An access token is not a refresh token, nor is a missing one.
    let wrong = refresh(&app, &access).await;
    wrong.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(wrong.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    let missing = app.call(Method::POST, "/api/auth/refresh", None, None).await;
    missing.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

    let gql = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken tokenType expiresIn } }",
            json!({ "t": next_refresh }),
            None,
        )
        .await;
    let payload = &gql.body["data"]["refreshToken"];
    assert_eq!(payload["tokenType"], "Bearer", "{}", gql.text);
    assert!(payload["refreshToken"].as_str().is_some_and(|t| t != next_refresh && t != refresh_token));
    let gql_access = payload["accessToken"].as_str().unwrap();
    assert_eq!(app.gql(ME, json!({}), Some(gql_access)).await.body["data"]["me"]["email"], "r@example.com");
    let gql_wrong = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": access }),
            None,
        )
        .await;
    assert_eq!(gql_wrong.gql_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn refresh_picks_up_new_roles() {
    let app = TestApp::new().await;
    app.user_token("promoted@example.com").await;
    let (_, refresh_token) = login_pair(&app, "promoted@example.com").await;
    storegate::domain::users::grant_admin(&app.db, "promoted@example.com").await.unwrap();
    let renewed = refresh(&app, &refresh_token).await.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/auth/me", Some(&renewed)).await.body["roles"], json!(["user", "admin"]));
}

/// Logout on REST and GraphQL, against whichever blocklist `app` uses.
async fn logout_revokes_until_expiry(app: &TestApp) {
    app.user_token("bye@example.com").await;
    let (access, refresh_token) = login_pair(app, "bye@example.com").await;
    let (other_access, other_refresh) = login_pair(app, "bye@example.com").await;

    // REST logout with the refresh token in the body revokes both.
    let out = app.post("/api/auth/logout", Some(&access), json!({ "refresh_token": refresh_token })).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert!(out.text.is_empty());
    let after = app.get("/api/auth/me", Some(&access)).await;
    after.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(after.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    assert!(after.body["detail"].as_str().unwrap().contains("revoked"));
    assert_eq!(app.gql(ME, json!({}), Some(&access)).await.status, StatusCode::UNAUTHORIZED);
    refresh(app, &refresh_token).await.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.post("/api/auth/logout", Some(&access), json!({}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    // The other session is untouched; GraphQL logout without a refresh
    // token revokes only the access token.
    assert_eq!(app.get("/api/auth/me", Some(&other_access)).await.status, StatusCode::OK);
    let gql = app.gql("mutation { logout }", json!({}), Some(&other_access)).await;
    assert_eq!(gql.body["data"]["logout"], true, "{}", gql.text);
    assert_eq!(app.get("/api/auth/me", Some(&other_access)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refresh(app, &other_refresh).await.status,
        StatusCode::OK,
        "refresh tokens survive unless given"
    );

    // Logout needs a token; a refresh token of someone else is refused.
    app.call(Method::POST, "/api/auth/logout", None, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(app.gql("mutation { logout }", json!({}), None).await.gql_code(), Some("UNAUTHENTICATED"));
    let mallory = app.user_token("mallory@example.com").await;
    let theft = app.post("/api/auth/logout", Some(&mallory), json!({ "refresh_token": other_refresh })).await;
    theft.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(theft.error_fields(), ["refresh_token"]);
}

#[tokio::test]
async fn logout_revokes_tokens_in_the_database_blocklist() {
    let app = TestApp::new().await;
    assert_eq!(app.state.blocklist.backend(), "database");
    logout_revokes_until_expiry(&app).await;
}

#[ignore = "needs TEST_REDIS_URL; .ci/run runs it with --include-ignored"]
#[tokio::test]
async fn logout_revokes_tokens_in_the_redis_blocklist() {
    let url = require_redis();
    let app = TestApp::with_config(|c| c.redis_url = Some(url)).await;
    assert_eq!(app.state.blocklist.backend(), "redis");
    logout_revokes_until_expiry(&app).await;
}

/// Two instances over one database (and one Redis, when configured): a
/// logout on one is refused on the other.
#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_another() {
    let redis = redis_url();
    let first = TestApp::with_config(|c| c.redis_url = redis.clone()).await;
    let second = first.sibling(|c| c.redis_url = redis.clone()).await;
    first.user_token("shared@example.com").await;
    let (access, _) = login_pair(&second, "shared@example.com").await;
    assert_eq!(second.get("/api/auth/me", Some(&access)).await.status, StatusCode::OK);
    assert_eq!(first.post("/api/auth/logout", Some(&access), json!({})).await.status, StatusCode::NO_CONTENT);
    second
        .get("/api/auth/me", Some(&access))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(second.gql(ME, json!({}), Some(&access)).await.gql_code(), Some("UNAUTHENTICATED"));
}

/// Redis configured but unreachable: authenticated requests and logins
/// (whose throttle counters live there) fail closed with 503 +
/// Retry-After; anonymous reads keep working.
#[tokio::test]
async fn an_unreachable_redis_fails_closed() {
    // The token comes from a healthy instance over the same database.
    let healthy = TestApp::new().await;
    let token = healthy.user_token("closed@example.com").await;
    let app = healthy.sibling(|c| c.redis_url = Some("redis://127.0.0.1:1".into())).await;
    let login = app
        .post("/api/auth/login", None, json!({ "email": "closed@example.com", "password": PASSWORD }))
        .await;
    login.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    assert!(login.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
    let gql_login = app
        .gql(
            "mutation($p: String!) { login(email: \"closed@example.com\", password: $p) { accessToken } }",
            json!({ "p": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(gql_login.gql_code(), Some("SERVICE_UNAVAILABLE"), "{}", gql_login.text);
    // So does a sign-up from a known address (its counter is there too).
    let address = "192.0.2.99:1".parse().unwrap();
    let signup =
        app.send(credentials_from(address, "/api/auth/signup", "closed2@example.com", PASSWORD)).await;
    signup.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    let res = app.get("/api/auth/me", Some(&token)).await;
    res.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    assert!(res.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
    let write = app.post("/api/stores", Some(&token), json!({ "name": "x" })).await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    let gql = app.gql(ME, json!({}), Some(&token)).await;
    assert_eq!(gql.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(gql.gql_code(), Some("SERVICE_UNAVAILABLE"));

    assert_eq!(app.get("/api/stores", None).await.status, StatusCode::OK);
    assert_eq!(app.gql("{ stores { nodes { id } } }", json!({}), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn forged_algorithms_and_revoked_tokens_are_refused_hs256() {
    forged_algorithms_and_revoked_tokens_are_refused(&TestApp::signing_with(Algorithm::HS256).await).await;
}

#[tokio::test]
async fn forged_algorithms_and_revoked_tokens_are_refused_eddsa() {
    forged_algorithms_and_revoked_tokens_are_refused(&TestApp::signing_with(Algorithm::EdDSA).await).await;
}

async fn forged_algorithms_and_revoked_tokens_are_refused(app: &TestApp) {
    let token = app.user_token("alg@example.com").await;
    let id = app.get("/api/auth/me", Some(&token)).await.body["id"].as_i64().unwrap() as i32;
    let claims = app.claims_for(id);
    // RS256 named in the header over the genuine signature: the classic
    // key-confusion forgery. The algorithm is pinned, so it is refused.
    let header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        r#"{"alg":"RS256","typ":"JWT"}"#,
    );
    let genuine = app.sign(&claims);
    let mut parts = genuine.split('.');
    let (_, payload, signature) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
    let confused = format!("{header}.{payload}.{signature}");
    let hs384 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS384),
        &claims,
        &EncodingKey::from_secret(crate::common::SECRET),
    )
    .unwrap();
    for forged in [confused, hs384] {
        let res = app.get("/api/auth/me", Some(&forged)).await;
        res.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        assert_eq!(res.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
        assert_eq!(app.gql(ME, json!({}), Some(&forged)).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn expired_revocations_are_purged() {
    let app = TestApp::new().await;
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    let (old, live) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    storegate::domain::revocations::revoke(&app.db, old, past).await.unwrap();
    storegate::domain::revocations::revoke(&app.db, live, future).await.unwrap();
    storegate::domain::revocations::revoke(&app.db, live, future).await.unwrap(); // twice is fine
    assert_eq!(storegate::domain::revocations::purge_expired(&app.db).await.unwrap(), 1);
    assert!(!storegate::domain::revocations::is_revoked(&app.db, old).await.unwrap());
    assert!(storegate::domain::revocations::is_revoked(&app.db, live).await.unwrap());
}

fn login_from(address: SocketAddr, email: &str, password: &str) -> Request<Body> {
    credentials_from(address, "/api/auth/login", email, password)
}

fn credentials_from(address: SocketAddr, path: &str, email: &str, password: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(address))
        .body(Body::from(json!({ "email": email, "password": password }).to_string()))
        .unwrap()
}

#[tokio::test]
async fn failed_logins_are_throttled_per_email() {
    let app = TestApp::new().await;
    app.user_token("target@example.com").await;
    let address: SocketAddr = "192.0.2.10:5000".parse().unwrap();
    for _ in 0..5 {
        let res = app.send(login_from(address, "target@example.com", "wrong-password")).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits for the window to pass.
    let blocked = app.send(login_from(address, " TARGET@example.com", PASSWORD)).await;
    blocked.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let gql = app
        .gql(
            "mutation($p: String!) { login(email: \"target@example.com\", password: $p) { accessToken } }",
            json!({ "p": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(gql.gql_code(), Some("RATE_LIMITED"));

    // Other accounts are unaffected, and successful logins are not counted.
    app.user_token("bystander@example.com").await;
    for _ in 0..6 {
        assert_eq!(
            app.send(login_from(address, "bystander@example.com", PASSWORD)).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_address() {
    let app = TestApp::with_config(|c| c.login_max_failures = 1000).await;
    app.user_token("victim@example.com").await;
    let attacker: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    for n in 0..100 {
        let res = app.send(login_from(attacker, &format!("guess{n}@example.com"), "wrong-password")).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    app.send(login_from(attacker, "victim@example.com", PASSWORD))
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let elsewhere: SocketAddr = "203.0.113.9:4000".parse().unwrap();
    assert_eq!(app.send(login_from(elsewhere, "victim@example.com", PASSWORD)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn access_tokens_carry_no_secret_material_in_errors() {
    let app = TestApp::new().await;
    let res = app.get("/api/auth/me", Some("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl")).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(!res.text.contains("c2lnbmF0dXJl"), "the token is never echoed: {}", res.text);
    let secret = String::from_utf8_lossy(crate::common::SECRET).to_string();
    assert!(!res.text.contains(&secret));
    assert_eq!(res.body["detail"].as_str().map(|d| d.is_empty()), Some(false));
    let _ = Value::Null;
}
