//! EdDSA tokens and `/.well-known/jwks.json` (docs/API.md §8): another
//! service verifies storegate's tokens with the published keys alone; a
//! key rotation keeps the previous key's tokens working until they
//! expire; HS256 tokens are refused, even one whose HMAC key is the
//! public key (the algorithm-confusion forgery).

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use storegate::auth::{Ed25519PrivateKey, JwtKeys};

use crate::common::{PASSWORD, Res, TestApp, sign_ed, sign_with};

const ME: &str = "{ me { email } }";

async fn login(app: &TestApp, email: &str) -> (String, String) {
    let res = app.post("/api/auth/login", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    (res.body["access_token"].as_str().unwrap().into(), res.body["refresh_token"].as_str().unwrap().into())
}

fn eddsa(current: &Ed25519PrivateKey, previous: Option<&Ed25519PrivateKey>) -> JwtKeys {
    JwtKeys::EdDsa { current: current.clone(), previous: previous.map(Ed25519PrivateKey::public) }
}

fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).expect("a JWT header").kid
}

/// The token is accepted on both faces.
async fn assert_accepted(app: &TestApp, token: &str, email: &str) {
    let rest = app.get("/api/auth/me", Some(token)).await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.text);
    assert_eq!(rest.body["email"], email);
    let gql = app.gql(ME, json!({}), Some(token)).await;
    assert_eq!(gql.body["data"]["me"]["email"], email, "{}", gql.text);
}

/// The token is refused on both faces, as an invalid token.
async fn assert_refused(app: &TestApp, token: &str, case: &str) -> Res {
    let rest = app.get("/api/auth/me", Some(token)).await;
    assert_eq!(rest.status, StatusCode::UNAUTHORIZED, "{case}: {}", rest.text);
    rest.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(rest.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#), "{case}");
    let gql = app.gql(ME, json!({}), Some(token)).await;
    assert_eq!(gql.status, StatusCode::UNAUTHORIZED, "{case}: {}", gql.text);
    assert_eq!(gql.gql_code(), Some("UNAUTHENTICATED"), "{case}");
    rest
}

async fn jwks(app: &TestApp) -> Res {
    app.get("/.well-known/jwks.json", None).await
}

/// What a service that only knows storegate's URL does: fetch the JWK set,
/// pick the key the token's `kid` names, verify with `jsonwebtoken`.
fn verify_with_jwks(document: &Value, token: &str) -> Value {
    let kid = kid_of(token).expect("the token names its key");
    let jwk = document["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("no published key has the kid {kid}: {document}"));
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().expect("x")).expect("an Ed25519 key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["storegate-api"]);
    validation.set_issuer(&["storegate"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).expect("the token verifies").claims
}

#[tokio::test]
async fn eddsa_login_tokens_verify_with_the_published_key_set_alone() {
    let app = TestApp::signing_with(Algorithm::EdDSA).await;
    app.user_token("verify@example.com").await;
    let (access, refresh) = login(&app, "verify@example.com").await;

    let res = jwks(&app).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("cache-control"), Some("public, max-age=300"));
    let keys = res.body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "one key outside a rotation: {}", res.text);
    let key = keys[0].as_object().expect("a JWK object");
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x"], "public members only: {}", res.text);
    assert_eq!((key["kty"].as_str(), key["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!((key["alg"].as_str(), key["use"].as_str()), (Some("EdDSA"), Some("sig")));
    assert_eq!(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap().len(), 32);
    // The kid is the RFC 7638 thumbprint of the key, which anyone can check.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, key["x"].as_str().unwrap());
    let thumbprint = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(canonical.as_bytes()));
    assert_eq!(key["kid"], thumbprint.as_str());
    // The set is also a standard JWK set as jsonwebtoken reads it.
    let parsed: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&res.text).expect("a JWK set");
    assert!(DecodingKey::from_jwk(&parsed.keys[0]).is_ok());

    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let claims = verify_with_jwks(&res.body, &access);
    assert_eq!(claims["token_type"], "access");
    assert_eq!(claims["fresh"], true);
    let me = app.get("/api/auth/me", Some(&access)).await;
    assert_eq!(claims["sub"], me.body["id"].to_string().as_str());
    assert_eq!(verify_with_jwks(&res.body, &refresh)["token_type"], "refresh");
    assert_accepted(&app, &access, "verify@example.com").await;
}

/// Under HS256 there is no public key to publish: the route answers 404
/// like an unknown one.
#[tokio::test]
async fn hs256_publishes_no_keys() {
    let app = TestApp::signing_with(Algorithm::HS256).await;
    let res = jwks(&app).await;
    res.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert!(res.header("cache-control").is_none());
}

/// A rotation: the new key signs, the previous one still verifies what it
/// signed (access and refresh tokens) until they expire, both are
/// published, and a token naming any other key is refused. Instances are
/// siblings over one database, as a rolling deploy would run them.
#[tokio::test]
async fn after_a_rotation_old_tokens_work_and_unknown_kids_are_refused() {
    let (old, new) = (Ed25519PrivateKey::generate(), Ed25519PrivateKey::generate());
    let before = TestApp::with_config(|c| c.jwt_keys = eddsa(&old, None)).await;
    before.user_token("rotate@example.com").await;
    let (old_access, old_refresh) = login(&before, "rotate@example.com").await;
    assert_eq!(kid_of(&old_access), Some(old.public().kid()));

    let during = before.sibling(|c| c.jwt_keys = eddsa(&new, Some(&old))).await;
    let published = jwks(&during).await;
    let kids: Vec<&str> =
        published.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    let (new_kid, old_kid) = (new.public().kid(), old.public().kid());
    assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()], "the current key first, then the previous");

    // Tokens of the old key still work, and verify with the published set.
    assert_accepted(&during, &old_access, "rotate@example.com").await;
    verify_with_jwks(&published.body, &old_access);
    // Its refresh token too; what it mints is signed with the new key.
    let renewed = during.call(axum::http::Method::POST, "/api/auth/refresh", Some(&old_refresh), None).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.text);
    let renewed_access = renewed.body["access_token"].as_str().unwrap();
    assert_eq!(kid_of(renewed_access), Some(new_kid.clone()));
    assert_accepted(&during, renewed_access, "rotate@example.com").await;
    verify_with_jwks(&published.body, renewed_access);
    // New logins are signed with the new key.
    let (new_access, _) = login(&during, "rotate@example.com").await;
    assert_eq!(kid_of(&new_access), Some(new_kid.clone()));

    // A key nobody published, under its own kid, under none, or under one
    // of ours: refused.
    let claims = during
        .claims_for(during.get("/api/auth/me", Some(&new_access)).await.body["id"].as_i64().unwrap() as i32);
    let stranger = Ed25519PrivateKey::generate();
    let unknown =
        assert_refused(&during, &sign_ed(&claims, &stranger, Some(stranger.public().kid())), "unknown kid")
            .await;
    assert!(unknown.body["detail"].as_str().unwrap().contains("key"), "{}", unknown.text);
    assert_refused(&during, &sign_ed(&claims, &stranger, None), "no kid").await;
    assert_refused(&during, &sign_ed(&claims, &stranger, Some(old_kid.clone())), "stranger as old kid").await;
    assert_refused(&during, &sign_ed(&claims, &stranger, Some(new_kid.clone())), "stranger as new kid").await;
    // A genuine token whose header is pointed at the other key: the
    // signature is checked against the key the kid names, and fails.
    let mut relabelled = Header::new(Algorithm::EdDSA);
    relabelled.kid = Some(old_kid.clone());
    let relabelled_header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&relabelled).unwrap());
    let (_, rest) = new_access.split_once('.').unwrap();
    assert_refused(&during, &format!("{relabelled_header}.{rest}"), "kid swapped").await;

    // Once the previous key is retired, its tokens are refused; the new
    // key's keep working.
    let after = before.sibling(|c| c.jwt_keys = eddsa(&new, None)).await;
    assert_eq!(jwks(&after).await.body["keys"].as_array().map(Vec::len), Some(1));
    assert_refused(&after, &old_access, "retired key").await;
    assert_accepted(&after, &new_access, "rotate@example.com").await;
    // The instance that never knew the new key refuses its tokens; one
    // that was given it ahead of the switch, as the previous key's slot
    // (the first step of a rolling rotation), accepts them already.
    assert_refused(&before, &new_access, "not yet known").await;
    let staged = before.sibling(|c| c.jwt_keys = eddsa(&old, Some(&new))).await;
    assert_accepted(&staged, &new_access, "rotate@example.com").await;
    assert_accepted(&staged, &old_access, "rotate@example.com").await;
}

/// Under EdDSA every HS256 token is refused, including the forgery that
/// catches verifiers that let the header pick the algorithm: HMAC keyed
/// with the public key, which anyone can fetch, under our own kid.
#[tokio::test]
async fn hs256_tokens_are_refused_under_eddsa_even_keyed_with_the_public_key() {
    let app = TestApp::signing_with(Algorithm::EdDSA).await;
    let token = app.user_token("confused@example.com").await;
    let id = app.get("/api/auth/me", Some(&token)).await.body["id"].as_i64().unwrap() as i32;
    let claims = app.claims_for(id);
    let JwtKeys::EdDsa { current, .. } = &app.state.config.jwt_keys else { panic!("EdDSA keys") };
    let public = current.public();
    let published = jwks(&app).await;
    let x = published.body["keys"][0]["x"].as_str().unwrap().to_string();
    assert_eq!(x, public.x());

    let hmac = |algorithm: Algorithm, key: &[u8], kid: Option<String>| {
        let mut header = Header::new(algorithm);
        header.kid = kid;
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key)).unwrap()
    };
    let pem = public.to_pem().unwrap();
    let kid = Some(public.kid());
    let cases = [
        ("HS256 keyed with the raw public key", hmac(Algorithm::HS256, public.as_bytes(), kid.clone())),
        ("HS256 keyed with the public PEM", hmac(Algorithm::HS256, pem.as_bytes(), kid.clone())),
        ("HS256 keyed with the JWK x", hmac(Algorithm::HS256, x.as_bytes(), kid.clone())),
        ("HS512 keyed with the public key", hmac(Algorithm::HS512, public.as_bytes(), kid.clone())),
        ("HS256 without a kid", hmac(Algorithm::HS256, public.as_bytes(), None)),
        ("HS256 with the test secret", sign_with(&claims, crate::common::SECRET)),
    ];
    for (case, forged) in &cases {
        let res = assert_refused(&app, forged, case).await;
        assert!(!res.text.contains(&x), "{case}: the key is not echoed");
    }
    // The same claims, signed as the server signs them, are fine.
    assert_accepted(&app, &app.sign(&claims), "confused@example.com").await;
}
