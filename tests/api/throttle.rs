//! Throttling that holds (docs/API.md §5): an attempt is counted before its
//! password is checked, so concurrent guesses cannot get past the limit;
//! with Redis every instance shares the counters; the client address is
//! the socket peer unless `TRUSTED_CLIENT_IP_HEADER` names the proxy's
//! header; sign-ups are limited per address.
//!
//! Tests that run on Redis use fresh emails and addresses each run: other
//! tests (and earlier runs, within the window) share its counters.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{PASSWORD, Res, TestApp, require_redis};

const WRONG: &str = "wrong-password";
const LOGIN_MUTATION: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
const SIGNUP_MUTATION: &str =
    "mutation($e: String!, $p: String!) { signup(email: $e, password: $p) { email } }";

fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL").ok().filter(|url| !url.is_empty())
}

/// 48 random bits, for emails and addresses no other test or run uses.
fn unique() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0 >> 16
}

fn unique_email(tag: &str) -> String {
    format!("{tag}-{:012x}@example.com", unique())
}

/// A documentation-range IPv6 peer in a /64 of its own.
fn unique_peer() -> SocketAddr {
    let bits = unique();
    let (a, b, c) = ((bits >> 32) as u16, (bits >> 16) as u16, bits as u16);
    format!("[2001:db8:{a:x}:{b:x}:{c:x}::1]:443").parse().unwrap()
}

/// A JSON POST from `peer` (the socket's peer, as `serve` would record it)
/// carrying `headers`.
fn post_from(peer: Option<SocketAddr>, path: &str, headers: &[(&str, &str)], body: Value) -> Request<Body> {
    let mut builder =
        Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if let Some(peer) = peer {
        builder = builder.extension(ConnectInfo(peer));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

async fn login(
    app: &TestApp,
    peer: Option<SocketAddr>,
    headers: &[(&str, &str)],
    email: &str,
    password: &str,
) -> Res {
    app.send(post_from(peer, "/api/auth/login", headers, json!({ "email": email, "password": password })))
        .await
}

async fn signup(app: &TestApp, peer: Option<SocketAddr>, email: &str) -> Res {
    app.send(post_from(peer, "/api/auth/signup", &[], json!({ "email": email, "password": PASSWORD }))).await
}

async fn gql_from(app: &TestApp, peer: SocketAddr, query: &str, variables: Value) -> Res {
    app.send(post_from(Some(peer), "/graphql", &[], json!({ "query": query, "variables": variables }))).await
}

#[track_caller]
fn assert_rate_limited(res: &Res) {
    res.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: u64 = res.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
}

/// 20 wrong passwords for one email at once: exactly the limit's worth
/// are checked (401); the rest are refused (429), which happens before
/// the user is looked up or anything hashed.
async fn concurrent_guesses_check_at_most_the_limit(app: &TestApp) {
    let email = unique_email("concurrent");
    assert_eq!(signup(app, None, &email).await.status, StatusCode::CREATED);
    let peer = unique_peer();
    let guesses = (0..20).map(|_| login(app, Some(peer), &[], &email, WRONG));
    let answers = futures_util::future::join_all(guesses).await;
    let unauthorized = answers.iter().filter(|res| res.status == StatusCode::UNAUTHORIZED).count();
    let limited: Vec<&Res> =
        answers.iter().filter(|res| res.status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(unauthorized, 5, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(limited.len(), 15);
    limited.iter().for_each(|res| assert_rate_limited(res));
    // The limit holds for the right password too, until the window passes.
    assert_rate_limited(&login(app, Some(peer), &[], &email, PASSWORD).await);
}

#[tokio::test]
async fn concurrent_wrong_logins_check_at_most_the_limit_in_memory() {
    let app = TestApp::new().await;
    assert_eq!(app.state.throttle.backend(), "memory");
    concurrent_guesses_check_at_most_the_limit(&app).await;
}

#[ignore = "needs TEST_REDIS_URL; .ci/run runs it with --include-ignored"]
#[tokio::test]
async fn concurrent_wrong_logins_check_at_most_the_limit_on_redis() {
    let url = require_redis();
    let app = TestApp::with_config(|c| c.redis_url = Some(url)).await;
    assert_eq!(app.state.throttle.backend(), "redis");
    concurrent_guesses_check_at_most_the_limit(&app).await;
}

/// Four failures, then the right password: it succeeds and gives its
/// reservation back, so one more failure is allowed before the limit.
async fn a_success_releases_its_reservation(app: &TestApp) {
    let email = unique_email("release");
    assert_eq!(signup(app, None, &email).await.status, StatusCode::CREATED);
    let peer = unique_peer();
    for _ in 0..4 {
        assert_eq!(login(app, Some(peer), &[], &email, WRONG).await.status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..3 {
        let ok = login(app, Some(peer), &[], &email, PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    }
    assert_eq!(login(app, Some(peer), &[], &email, WRONG).await.status, StatusCode::UNAUTHORIZED);
    assert_rate_limited(&login(app, Some(peer), &[], &email, PASSWORD).await);
}

#[tokio::test]
async fn a_correct_password_succeeds_under_the_limit_and_releases_its_reservation() {
    a_success_releases_its_reservation(&TestApp::new().await).await;
    if let Some(url) = redis_url() {
        a_success_releases_its_reservation(&TestApp::with_config(|c| c.redis_url = Some(url)).await).await;
    }
}

/// Two instances on one Redis: failures on either count for both, per
/// email and per address.
#[ignore = "needs TEST_REDIS_URL; .ci/run runs it with --include-ignored"]
#[tokio::test]
async fn instances_on_one_redis_share_the_email_and_address_counters() {
    let url = require_redis();
    let first = TestApp::with_config(|c| c.redis_url = Some(url.clone())).await;
    let second = first.sibling(|c| c.redis_url = Some(url.clone())).await;

    let email = unique_email("shared");
    assert_eq!(signup(&first, None, &email).await.status, StatusCode::CREATED);
    for app in [&first, &second, &first, &second, &first] {
        assert_eq!(login(app, None, &[], &email, WRONG).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(&login(&second, None, &[], &email, PASSWORD).await);
    assert_rate_limited(&login(&first, None, &[], &email, PASSWORD).await);

    // The address: 100 failures, half on each instance, each for another
    // (non-)account so no email counter fills first.
    let bystander = unique_email("bystander");
    assert_eq!(signup(&first, None, &bystander).await.status, StatusCode::CREATED);
    let peer = unique_peer();
    for n in 0..100 {
        let app = if n % 2 == 0 { &first } else { &second };
        let res = login(app, Some(peer), &[], &format!("guess-{n}"), WRONG).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {n}: {}", res.text);
    }
    assert_rate_limited(&login(&first, Some(peer), &[], &bystander, PASSWORD).await);
    assert_rate_limited(&login(&second, Some(peer), &[], &bystander, PASSWORD).await);
    assert_eq!(login(&second, Some(unique_peer()), &[], &bystander, PASSWORD).await.status, StatusCode::OK);
}

/// Behind Fly's proxy every request comes from the proxy: with
/// `TRUSTED_CLIENT_IP_HEADER=Fly-Client-IP` the header names the client,
/// so one client's failures lock that client only.
#[tokio::test]
async fn with_a_trusted_header_one_clients_failures_lock_that_client_only() {
    let app = TestApp::with_config(|c| {
        c.trusted_client_ip_header = Some(HeaderName::from_static("fly-client-ip"));
        c.login_max_failures = 1000;
    })
    .await;
    let email = unique_email("fly");
    assert_eq!(signup(&app, None, &email).await.status, StatusCode::CREATED);
    let proxy: SocketAddr = "172.16.0.2:61000".parse().unwrap();
    let attacker = [("Fly-Client-IP", "198.51.100.20")];
    for n in 0..100 {
        let res = login(&app, Some(proxy), &attacker, &format!("guess{n}@example.com"), WRONG).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    assert_rate_limited(&login(&app, Some(proxy), &attacker, &email, PASSWORD).await);
    // A client-sent X-Forwarded-For does not get the attacker out.
    let disguised = [("Fly-Client-IP", "198.51.100.20"), ("X-Forwarded-For", "203.0.113.5")];
    assert_rate_limited(&login(&app, Some(proxy), &disguised, &email, PASSWORD).await);

    let user = [("Fly-Client-IP", "198.51.100.21")];
    assert_eq!(login(&app, Some(proxy), &user, &email, PASSWORD).await.status, StatusCode::OK);
    let ipv4_with_port = [("Fly-Client-IP", "198.51.100.22:1234")];
    assert_eq!(login(&app, Some(proxy), &ipv4_with_port, &email, PASSWORD).await.status, StatusCode::OK);
    // Missing or unparseable: the peer (the proxy, which has no failures).
    assert_eq!(login(&app, Some(proxy), &[], &email, PASSWORD).await.status, StatusCode::OK);
    let garbage = [("Fly-Client-IP", "not-an-address")];
    assert_eq!(login(&app, Some(proxy), &garbage, &email, PASSWORD).await.status, StatusCode::OK);
}

/// Without the configuration, address headers a client sends are ignored:
/// the peer is the client, whatever it claims.
#[tokio::test]
async fn without_the_config_client_sent_address_headers_change_nothing() {
    let app = TestApp::with_config(|c| c.login_max_failures = 1000).await;
    let email = unique_email("spoof");
    assert_eq!(signup(&app, None, &email).await.status, StatusCode::CREATED);
    let attacker: SocketAddr = "192.0.2.50:5000".parse().unwrap();
    for n in 0..100 {
        let claimed = format!("203.0.113.{}", n % 250);
        let headers = [
            ("X-Forwarded-For", claimed.as_str()),
            ("Fly-Client-IP", claimed.as_str()),
            ("X-Real-IP", claimed.as_str()),
            ("Forwarded", "for=203.0.113.77"),
        ];
        let res = login(&app, Some(attacker), &headers, &format!("guess-{n}"), WRONG).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let fresh_claim = [("X-Forwarded-For", "198.51.100.99"), ("Fly-Client-IP", "198.51.100.99")];
    assert_rate_limited(&login(&app, Some(attacker), &fresh_claim, &email, PASSWORD).await);
    // Another peer claiming to be the locked one is not locked.
    let impostor: SocketAddr = "192.0.2.51:5000".parse().unwrap();
    let claim_locked = [("X-Forwarded-For", "192.0.2.50"), ("Fly-Client-IP", "192.0.2.50")];
    assert_eq!(login(&app, Some(impostor), &claim_locked, &email, PASSWORD).await.status, StatusCode::OK);
}

/// Something that is no address gets the wrong password's 401, costs the
/// client an attempt and creates no email counter.
#[tokio::test]
async fn a_login_with_no_address_is_a_401_that_costs_the_client_an_attempt() {
    let app = TestApp::with_config(|c| c.login_max_failures = 1).await;
    let email = unique_email("known");
    assert_eq!(signup(&app, None, &email).await.status, StatusCode::CREATED);
    let peer: SocketAddr = "192.0.2.60:1".parse().unwrap();
    let wrong = login(&app, Some(peer), &[], &email, WRONG).await;
    wrong.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    for junk in ["not an address".to_string(), format!("{}@example.com", "a".repeat(10_000))] {
        // Twice each, past the email limit of 1: no email counter fills.
        for _ in 0..2 {
            let res = login(&app, Some(peer), &[], &junk, WRONG).await;
            res.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
            assert_eq!(res.body["detail"], wrong.body["detail"]);
        }
    }
    let gql = gql_from(&app, peer, LOGIN_MUTATION, json!({ "e": "nobody", "p": WRONG })).await;
    assert_eq!(gql.gql_code(), Some("UNAUTHENTICATED"), "{}", gql.text);
}

/// An address valid to the validator but longer than 254 bytes is refused
/// at sign-up, so no account has an email login would not look up.
#[tokio::test]
async fn sign_up_refuses_emails_longer_than_254_bytes() {
    let app = TestApp::new().await;
    let long = format!("{}@{}.example.com", "a".repeat(64), vec!["b".repeat(60); 3].join("."));
    assert!(long.len() > 254);
    let res = signup(&app, None, &long).await;
    res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    assert_eq!(res.error_fields(), ["email"]);
}

/// `SIGNUP_MAX_PER_ADDRESS` counts REST and GraphQL sign-ups together,
/// per client address.
#[tokio::test]
async fn signups_are_limited_per_address_on_both_faces() {
    let app = TestApp::with_config(|c| c.signup_max_per_address = 3).await;
    let peer: SocketAddr = "192.0.2.70:1".parse().unwrap();
    assert_eq!(signup(&app, Some(peer), &unique_email("s1")).await.status, StatusCode::CREATED);
    // Invalid input is answered as such, and is not what the limit counts.
    let invalid = signup(&app, Some(peer), "not an address").await;
    invalid.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT");
    let gql = gql_from(&app, peer, SIGNUP_MUTATION, json!({ "e": unique_email("s2"), "p": PASSWORD })).await;
    assert!(gql.body["errors"].is_null(), "{}", gql.text);
    assert_eq!(signup(&app, Some(peer), &unique_email("s3")).await.status, StatusCode::CREATED);

    assert_rate_limited(&signup(&app, Some(peer), &unique_email("s4")).await);
    let gql = gql_from(&app, peer, SIGNUP_MUTATION, json!({ "e": unique_email("s5"), "p": PASSWORD })).await;
    assert_eq!(gql.gql_code(), Some("RATE_LIMITED"), "{}", gql.text);

    let elsewhere: SocketAddr = "192.0.2.71:1".parse().unwrap();
    assert_eq!(signup(&app, Some(elsewhere), &unique_email("s6")).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_signup_limit_of_zero_is_off() {
    let app = TestApp::with_config(|c| c.signup_max_per_address = 0).await;
    let peer: SocketAddr = "192.0.2.80:1".parse().unwrap();
    // One more than the default limit.
    for n in 0..21 {
        let res = signup(&app, Some(peer), &unique_email(&format!("open{n}"))).await;
        assert_eq!(res.status, StatusCode::CREATED, "sign-up {n}: {}", res.text);
    }
}

/// Sign-ups on Redis share one counter across instances.
#[ignore = "needs TEST_REDIS_URL; .ci/run runs it with --include-ignored"]
#[tokio::test]
async fn instances_on_one_redis_share_the_signup_counter() {
    let url = require_redis();
    let first = TestApp::with_config(|c| {
        c.redis_url = Some(url.clone());
        c.signup_max_per_address = 2;
    })
    .await;
    let second = first
        .sibling(|c| {
            c.redis_url = Some(url.clone());
            c.signup_max_per_address = 2;
        })
        .await;
    let peer = unique_peer();
    assert_eq!(signup(&first, Some(peer), &unique_email("r1")).await.status, StatusCode::CREATED);
    assert_eq!(signup(&second, Some(peer), &unique_email("r2")).await.status, StatusCode::CREATED);
    assert_rate_limited(&signup(&first, Some(peer), &unique_email("r3")).await);
    assert_rate_limited(&signup(&second, Some(peer), &unique_email("r4")).await);
}
