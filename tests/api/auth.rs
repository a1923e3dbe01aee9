//! Sign-up, login, `me`, and every way a token can be refused, on both faces.

use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, unsigned};

const ME: &str = "{ me { id email roles createdAt } }";

#[tokio::test]
async fn signup_trims_and_lowercases_then_login_and_me_work_over_rest() {
    let app = TestApp::new().await;
    let signup = app
        .post("/api/auth/signup", None, json!({ "email": "  Ada@Example.COM ", "password": PASSWORD }))
        .await;
    assert_eq!(signup.status, StatusCode::CREATED, "{}", signup.text);
    assert_eq!(signup.body["email"], "ada@example.com");
    assert_eq!(signup.body["roles"], json!(["user"]));
    assert!(signup.body.get("password_hash").is_none() && !signup.text.contains("argon2"));
    assert!(signup.header("location").is_some());

    let login =
        app.post("/api/auth/login", None, json!({ "email": "ADA@example.com ", "password": PASSWORD })).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], 900);
    assert!(login.body["refresh_token"].is_string());
    let token = login.body["access_token"].as_str().unwrap();

    let me = app.get("/api/auth/me", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, signup.body, "me equals the sign-up body");
}

#[tokio::test]
async fn access_tokens_carry_the_contract_claims() {
    let app = TestApp::new().await;
    let token = app.user_token("claims@example.com").await;
    let claims = app.state.tokens.verify(&token, storegate::auth::TokenKind::Access).unwrap();
    assert_eq!(claims.iss, "storegate");
    assert_eq!(claims.aud, "storegate-api");
    assert!(claims.fresh);
    assert_eq!(claims.roles, vec!["user".to_string()]);
    assert_eq!(claims.exp - claims.iat, 900);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
}

#[tokio::test]
async fn signup_rejects_bad_input_with_every_field_and_duplicates_with_409() {
    let app = TestApp::new().await;
    let bad =
        app.post("/api/auth/signup", None, json!({ "email": "not-an-email", "password": "short" })).await;
    bad.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(bad.error_fields(), ["email", "password"]);
    assert_eq!(bad.body["errors"][1]["message"], "must be at least 8 characters");

    app.user_token("dup@example.com").await;
    let again =
        app.post("/api/auth/signup", None, json!({ "email": "DUP@example.com", "password": PASSWORD })).await;
    again.assert_problem(StatusCode::CONFLICT, "CONFLICT");

    let gql = app
        .gql(
            "mutation($e: String!, $p: String!) { signup(email: $e, password: $p) { id } }",
            json!({ "e": "nope", "p": "1234567" }),
            None,
        )
        .await;
    assert_eq!(gql.status, StatusCode::OK);
    assert_eq!(gql.gql_code(), Some("BAD_USER_INPUT"));
    assert_eq!(gql.gql_fields(), ["email", "password"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::new().await;
    app.user_token("known@example.com").await;
    let wrong = app
        .post("/api/auth/login", None, json!({ "email": "known@example.com", "password": "wrong-pass" }))
        .await;
    let unknown = app
        .post("/api/auth/login", None, json!({ "email": "nobody@example.com", "password": "wrong-pass" }))
        .await;
    wrong.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    // The same body but for the request id each response carries.
    let without_id = |body: &Value| {
        let mut body = body.clone();
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    assert_eq!(without_id(&wrong.body), without_id(&unknown.body));
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn graphql_signup_login_and_me() {
    let app = TestApp::new().await;
    let signup = app
        .gql(
            "mutation($e: String!, $p: String!) { signup(email: $e, password: $p) { id email roles createdAt } }",
            json!({ "e": " Grace@Example.com", "p": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(signup.body["data"]["signup"]["email"], "grace@example.com", "{}", signup.text);
    let login = app
        .gql(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken tokenType expiresIn } }",
            json!({ "e": "grace@example.com", "p": PASSWORD }),
            None,
        )
        .await;
    let payload = &login.body["data"]["login"];
    assert_eq!(payload["tokenType"], "Bearer");
    assert_eq!(payload["expiresIn"], 900);
    let token = payload["accessToken"].as_str().unwrap();

    let me = app.gql(ME, json!({}), Some(token)).await;
    assert_eq!(me.body["data"]["me"]["email"], "grace@example.com");
    assert_eq!(me.body["data"]["me"]["id"], signup.body["data"]["signup"]["id"]);
    assert_eq!(me.body["data"]["me"]["createdAt"], signup.body["data"]["signup"]["createdAt"]);

    let anonymous = app.gql(ME, json!({}), None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body["data"]["me"], Value::Null);

    let wrong = app
        .gql(
            "mutation { login(email: \"grace@example.com\", password: \"wrong-pass\") { accessToken } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(wrong.gql_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn rest_me_without_a_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::new().await;
    let res = app.get("/api/auth/me", None).await;
    res.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
}

/// Every refused token, on REST and GraphQL: 401, `invalid_token`
/// challenge on REST, `UNAUTHENTICATED` on GraphQL; with HS256 tokens and
/// with EdDSA ones.
#[tokio::test]
async fn refused_tokens_are_401_on_both_faces_hs256() {
    refused_tokens_are_401_on_both_faces(&TestApp::signing_with(Algorithm::HS256).await).await;
}

#[tokio::test]
async fn refused_tokens_are_401_on_both_faces_eddsa() {
    refused_tokens_are_401_on_both_faces(&TestApp::signing_with(Algorithm::EdDSA).await).await;
}

async fn refused_tokens_are_401_on_both_faces(app: &TestApp) {
    let good = app.user_token("victim@example.com").await;
    let user_id = app.get("/api/auth/me", Some(&good)).await.body["id"].as_i64().unwrap() as i32;
    let now = chrono::Utc::now().timestamp();
    let claims = app.claims_for(user_id);

    let mut expired = claims.clone();
    expired.iat = now - 3600;
    expired.nbf = now - 3600;
    expired.exp = now - 60;
    let mut not_yet = claims.clone();
    not_yet.nbf = now + 600;
    let mut wrong_iss = claims.clone();
    wrong_iss.iss = "someone-else".into();
    let mut wrong_aud = claims.clone();
    wrong_aud.aud = "another-api".into();
    let mut missing_jti = serde_json::to_value(&claims).unwrap();
    missing_jti.as_object_mut().unwrap().remove("jti");
    let mut missing_exp = serde_json::to_value(&claims).unwrap();
    missing_exp.as_object_mut().unwrap().remove("exp");
    let refresh = app.issue(user_id, &["user"], storegate::auth::TokenKind::Refresh, false);

    // Tampered: a valid token whose payload is swapped for an admin's.
    let mut admin_claims = claims.clone();
    admin_claims.roles = vec!["user".into(), "admin".into()];
    let forged_payload = app.sign(&admin_claims).split('.').nth(1).unwrap().to_string();
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);

    // HS512 (with the HS256 secret, when that is the key): the algorithm
    // is pinned.
    let other_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(crate::common::SECRET),
    )
    .unwrap();

    let cases: Vec<(&str, String)> = vec![
        ("garbage", "not.a.token".into()),
        ("alg none", unsigned(&claims)),
        ("another key", app.sign_with_another_key(&claims)),
        ("other algorithm", other_alg),
        ("tampered", tampered),
        ("expired", app.sign(&expired)),
        ("not yet valid", app.sign(&not_yet)),
        ("wrong issuer", app.sign(&wrong_iss)),
        ("wrong audience", app.sign(&wrong_aud)),
        ("missing jti", app.sign(&missing_jti)),
        ("missing exp", app.sign(&missing_exp)),
        ("refresh as access", refresh.token),
    ];
    for (name, token) in &cases {
        let rest = app.get("/api/auth/me", Some(token)).await;
        assert_eq!(rest.status, StatusCode::UNAUTHORIZED, "REST {name}: {}", rest.text);
        rest.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        assert_eq!(rest.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#), "{name}");
        // A refused token is never treated as anonymous, even on public reads.
        let public = app.get("/api/stores", Some(token)).await;
        assert_eq!(public.status, StatusCode::UNAUTHORIZED, "public read with {name}");

        let gql = app.gql(ME, json!({}), Some(token)).await;
        assert_eq!(gql.status, StatusCode::UNAUTHORIZED, "GraphQL {name}: {}", gql.text);
        assert_eq!(gql.gql_code(), Some("UNAUTHENTICATED"), "GraphQL {name}");
        assert!(gql.body.get("data").is_none_or(Value::is_null), "GraphQL {name} ran: {}", gql.text);
    }

    // The untouched token still works: the refusals above were for cause.
    assert_eq!(app.get("/api/auth/me", Some(&good)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused() {
    let app = TestApp::new().await;
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token-without-scheme"] {
        let request = axum::http::Request::builder()
            .uri("/api/stores")
            .header("authorization", value)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.send(request).await;
        res.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        assert_eq!(res.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#), "{value}");
    }
}

#[tokio::test]
async fn tokens_of_deleted_users_are_refused() {
    let app = TestApp::new().await;
    let token = app.user_token("gone@example.com").await;
    let me = app.get("/api/auth/me", Some(&token)).await;
    let id = me.body["id"].as_i64().unwrap() as i32;
    entity::user::Entity::delete_by_id(id).exec(&app.db).await.unwrap();

    let rest = app.get("/api/auth/me", Some(&token)).await;
    rest.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let gql = app.gql(ME, json!({}), Some(&token)).await;
    assert_eq!(gql.status, StatusCode::UNAUTHORIZED);
    assert_eq!(gql.gql_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn admins_get_the_admin_role_in_their_claims() {
    let app = TestApp::new().await;
    let token = app.admin_token("root@example.com").await;
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!(me.body["roles"], json!(["user", "admin"]));
    let gql = app.gql("{ me { roles } }", json!({}), Some(&token)).await;
    assert_eq!(gql.body["data"]["me"]["roles"], json!(["user", "admin"]));
}
