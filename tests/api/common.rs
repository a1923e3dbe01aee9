//! The test harness: a fresh database per test (a temporary SQLite file, or
//! its own PostgreSQL schema when `TEST_DATABASE_URL` is set), the real
//! router driven in-process with `oneshot`, and helpers for both faces.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use storegate::auth::tokens::{Grant, IssuedToken};
use storegate::auth::{Claims, Ed25519PrivateKey, JwtKeys, TokenKind};
use storegate::config::Config;
use storegate::{AppState, app, db};
use tower::ServiceExt;

pub const SECRET: &[u8] = b"integration-test-secret-of-at-least-32-bytes";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub router: Router,
    /// SQL statements this app's pool has run (SeaORM's metric callback).
    statements: Arc<AtomicUsize>,
    pub db: DatabaseConnection,
    pub state: AppState,
    url: String,
    schema: Option<String>,
    _guard: Arc<DatabaseGuard>,
}

/// Removes the test's database when the test ends, pass or fail.
enum DatabaseGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Self::Postgres { url, schema } = self {
            let (url, schema) = (url.clone(), schema.clone());
            // Drop runs outside any async context we could borrow, so the
            // clean-up gets a small runtime of its own. It blocks the test's
            // runtime meanwhile, so a connection of the app that still holds
            // a lock in the schema (a transaction dropped without commit,
            // whose rollback is a task of that blocked runtime) would make
            // the DROP wait forever: such backends are ended first, and the
            // DROP gives up after a bounded wait rather than hang the suite.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let conn = sea_orm::Database::connect(&url).await.ok()?;
                    conn.execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l \
                         JOIN pg_class c ON c.oid = l.relation \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = '{schema}' AND l.pid <> pg_backend_pid()"
                    ))
                    .await
                    .ok()?;
                    conn.execute_unprepared("SET lock_timeout = '10s'").await.ok()?;
                    if let Err(e) =
                        conn.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await
                    {
                        eprintln!("test clean-up: could not drop schema {schema}: {e}");
                    }
                    conn.close().await.ok()
                })
            })
            .join();
        }
    }
}

static SCHEMA_COUNTER: AtomicU32 = AtomicU32::new(0);

/// `TEST_REDIS_URL`, for a test that needs Redis. Such a test is marked
/// `#[ignore]`, so that a run without Redis reports it as ignored instead
/// of passing it; run with `--include-ignored`, it fails here when the
/// variable is missing.
pub fn require_redis() -> String {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("this test needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)")
}

/// `TEST_DATABASE_URL`, for a test that needs PostgreSQL (see
/// [`require_redis`]).
pub fn require_postgres() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
        .expect("this test needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)")
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// An app signing tokens with `algorithm`: HS256 with [`SECRET`], or
    /// EdDSA with a fresh Ed25519 key.
    pub async fn signing_with(algorithm: Algorithm) -> Self {
        Self::with_config(|c| c.jwt_keys = keys_for(algorithm)).await
    }

    /// A test app whose configuration `adjust` may change (Redis, limits).
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let (url, schema, guard) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let schema = format!(
                    "sgt_{}_{}_{}",
                    std::process::id(),
                    SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed),
                    rand_suffix()
                );
                let admin = sea_orm::Database::connect(&url).await.expect("TEST_DATABASE_URL is reachable");
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                    .await
                    .expect("create schema");
                admin.close().await.ok();
                let guard = DatabaseGuard::Postgres { url: url.clone(), schema: schema.clone() };
                (url, Some(schema), guard)
            }
            _ => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                (url, None, DatabaseGuard::Sqlite(dir))
            }
        };
        let connection = db::connect_with(&url, schema.as_deref()).await.expect("database opens");
        db::migrate(&connection).await.expect("migrations run");
        Self::instance(connection, url, schema, Arc::new(guard), adjust)
    }

    /// A second server over the same database, as a second instance behind
    /// a load balancer would be: its own pool, state and router.
    pub async fn sibling(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let connection = db::connect_with(&self.url, self.schema.as_deref()).await.expect("database opens");
        Self::instance(connection, self.url.clone(), self.schema.clone(), self._guard.clone(), adjust)
    }

    fn instance(
        mut connection: DatabaseConnection,
        url: String,
        schema: Option<String>,
        guard: Arc<DatabaseGuard>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        connection.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut config = Config::for_database(url.clone(), SECRET.to_vec());
        adjust(&mut config);
        let state = AppState::new(connection.clone(), config).expect("state builds");
        Self { router: app(state.clone()), statements, db: connection, state, url, schema, _guard: guard }
    }

    /// The PostgreSQL schema this test runs in (`None` on SQLite).
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Runs `request` and returns its response with the number of SQL
    /// statements it cost.
    pub async fn counting(&self, request: impl std::future::Future<Output = Res>) -> (Res, usize) {
        let before = self.statements.load(Ordering::SeqCst);
        let res = request.await;
        (res, self.statements.load(Ordering::SeqCst) - before)
    }

    pub async fn send(&self, request: Request<Body>) -> Res {
        let response = self.router.clone().oneshot(request).await.expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res { status, headers, body, text }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Res {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
            None => builder.body(Body::empty()).expect("request"),
        };
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Res {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Res {
        self.call(Method::DELETE, path, token, None).await
    }

    /// A GraphQL POST.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Res {
        self.post("/graphql", token, json!({ "query": query, "variables": variables })).await
    }

    /// Signs a user up and logs in over REST; returns a fresh access token.
    pub async fn user_token(&self, email: &str) -> String {
        let signup =
            self.post("/api/auth/signup", None, json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(signup.status, StatusCode::CREATED, "{}", signup.text);
        self.login(email).await
    }

    pub async fn login(&self, email: &str) -> String {
        let login = self.post("/api/auth/login", None, json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.text);
        login.body["access_token"].as_str().expect("access token").to_string()
    }

    /// A user granted the admin role (as `storegate user grant-admin` does),
    /// logged in afterwards.
    pub async fn admin_token(&self, email: &str) -> String {
        self.user_token(email).await;
        storegate::domain::users::grant_admin(&self.db, email).await.expect("grant admin");
        self.login(email).await
    }

    /// Claims as the server would issue them for `user_id`, for tests that
    /// then tamper with them.
    pub fn claims_for(&self, user_id: i32) -> Claims {
        self.issue(user_id, &["user"], TokenKind::Access, true).claims
    }

    /// A token as a login (in a new session, at the user's first token
    /// generation) would issue it.
    pub fn issue(&self, user_id: i32, roles: &[&str], kind: TokenKind, fresh: bool) -> IssuedToken {
        let roles = roles.iter().map(|r| r.to_string()).collect();
        self.state.tokens.issue(&Grant::new_session(user_id, roles, 0), kind, fresh).expect("issue")
    }

    /// Signs arbitrary claims with the server's key (and, under EdDSA, its
    /// `kid`).
    pub fn sign(&self, claims: &impl serde::Serialize) -> String {
        match &self.state.config.jwt_keys {
            JwtKeys::Hs256(secret) => sign_with(claims, secret),
            JwtKeys::EdDsa { current, .. } => sign_ed(claims, current, Some(current.public().kid())),
        }
    }

    /// Signs claims with the server's algorithm but a key it does not
    /// have; under EdDSA the header names the server's own `kid`, so only
    /// the signature is wrong.
    pub fn sign_with_another_key(&self, claims: &impl serde::Serialize) -> String {
        match &self.state.config.jwt_keys {
            JwtKeys::Hs256(_) => sign_with(claims, b"another-secret-that-is-32-bytes-long!!"),
            JwtKeys::EdDsa { current, .. } => {
                sign_ed(claims, &Ed25519PrivateKey::generate(), Some(current.public().kid()))
            }
        }
    }

    /// Creates a store as `token`; returns its id.
    pub async fn store(&self, token: &str, name: &str) -> i64 {
        let res = self.post("/api/stores", Some(token), json!({ "name": name })).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        res.body["id"].as_i64().expect("id")
    }

    /// Creates an item as `token`; returns its id.
    pub async fn item(&self, token: &str, store_id: i64, name: &str, price: f64) -> i64 {
        let res = self
            .post("/api/items", Some(token), json!({ "name": name, "price": price, "store_id": store_id }))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        res.body["id"].as_i64().expect("id")
    }
}

/// `POST /graphql` with `body`, asking for the `accept` media type.
pub async fn post_graphql(app: &TestApp, body: Value, accept: Option<&str>) -> Res {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(accept) = accept {
        builder = builder.header(header::ACCEPT, accept);
    }
    app.send(builder.body(Body::from(body.to_string())).unwrap()).await
}

/// Token keys for `algorithm`: [`SECRET`], or a fresh Ed25519 key.
pub fn keys_for(algorithm: Algorithm) -> JwtKeys {
    match algorithm {
        Algorithm::HS256 => JwtKeys::Hs256(SECRET.to_vec()),
        Algorithm::EdDSA => JwtKeys::EdDsa { current: Ed25519PrivateKey::generate(), previous: None },
        other => panic!("storegate does not sign with {other:?}"),
    }
}

/// An EdDSA token signed by `key`, its header naming `kid`.
pub fn sign_ed(claims: &impl serde::Serialize, key: &Ed25519PrivateKey, kid: Option<String>) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid;
    let der = key.to_pkcs8_der().expect("the key encodes");
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der)).expect("sign")
}

pub fn sign_with(claims: &impl serde::Serialize, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
        .expect("sign")
}

/// An unsigned token (`alg: none`) carrying `claims`.
pub fn unsigned(claims: &impl serde::Serialize) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims"));
    format!("{header}.{payload}.")
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status and `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text);
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string(), "{}", self.text);
        assert_eq!(self.body["type"], "about:blank");
        self
    }

    /// The `field` names of a validation problem (REST) in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors.iter().map(|e| e["field"].as_str().unwrap_or_default().to_string()).collect()
            })
            .unwrap_or_default()
    }

    /// The first GraphQL error's `extensions.code`.
    pub fn gql_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// GraphQL `extensions.fields` names of the first error.
    pub fn gql_fields(&self) -> Vec<String> {
        self.body["errors"][0]["extensions"]["fields"]
            .as_array()
            .map(|errors| {
                errors.iter().map(|e| e["field"].as_str().unwrap_or_default().to_string()).collect()
            })
            .unwrap_or_default()
    }
}
