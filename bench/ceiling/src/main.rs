//! storegate-ceiling: the performance ceiling for storegate's benchmarks.
//!
//! The same rows and the same JSON as storegate's REST face, served by the
//! shortest path this stack allows: axum, hand-written SQL through sqlx's
//! prepared (cached) statements, serde. No ORM, no auth, no GraphQL, no
//! middleware. PostgreSQL only; the schema is the one storegate's
//! migrations create. See README.md beside this file.

use std::env;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, DurationRound, SecondsFormat, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{FromRow, Row};

type Ts = DateTime<Utc>;

/// storegate's default PostgreSQL pool size (`default_postgres_connections`
/// in src/db.rs: twice the CPUs, at least 4), so both servers get the same.
fn default_pool_size() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u32::try_from(cpus * 2).unwrap_or(u32::MAX).max(4)
}
const DEFAULT_PORT: u16 = 8090;
/// storegate's page sizes (src/domain/pagination.rs).
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;
/// storegate's cursor: base64url (no padding) of `sg1:{last id}`, so pages
/// walked on one server can be continued on the other.
const CURSOR_PREFIX: &str = "sg1:";
/// The largest price storegate accepts, in cents.
const MAX_CENTS: f64 = 100_000_000_000.0;

// ---------------------------------------------------------------- SQL

macro_rules! product_columns {
    () => {
        "p.id, p.sku, p.name, p.description, p.price_cents, p.created_at, p.updated_at"
    };
}
macro_rules! factory_columns {
    () => {
        "f.id, f.name, f.address, f.city, f.country, f.phone, f.email, f.established_year, \
         f.capacity_per_month, f.certifications, f.created_at, f.updated_at"
    };
}

const PRODUCT: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", f.id, f.name FROM products p JOIN factories f ON f.id = p.factory_id WHERE p.id = $1"
);
const PRODUCT_WITH_FACTORY: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", ",
    factory_columns!(),
    " FROM products p JOIN factories f ON f.id = p.factory_id WHERE p.id = $1"
);
const PRODUCT_PAGE: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", ",
    factory_columns!(),
    " FROM products p JOIN factories f ON f.id = p.factory_id WHERE p.id > $1 ORDER BY p.id LIMIT $2"
);
const FACTORY: &str = concat!("SELECT ", factory_columns!(), " FROM factories f WHERE f.id = $1");
/// The store and all of its items by id, in one round trip.
const STORE_WITH_ITEMS: &str = "SELECT s.id, s.name, s.created_at, s.updated_at, i.id, i.name, i.price_cents \
     FROM stores s LEFT JOIN items i ON i.store_id = s.id WHERE s.id = $1 ORDER BY i.id";
const INSERT_ITEM: &str = "INSERT INTO items (store_id, name, price_cents, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $4) RETURNING id";
/// storegate's rule (src/domain/todos.rs): completing sets `completed_at`,
/// completing again keeps it, reopening clears it. On the right-hand side
/// of SET, columns are the row's old values.
const UPDATE_TODO: &str = "UPDATE todos SET \
       title = COALESCE($2, title), \
       status = COALESCE($3, status), \
       completed_at = CASE WHEN COALESCE($3, status) = 'open' THEN NULL \
                           WHEN status = 'open' THEN $4::timestamptz \
                           ELSE completed_at END, \
       updated_at = $4::timestamptz \
     WHERE id = $1 \
     RETURNING id, title, status, created_at, updated_at, completed_at";

// ---------------------------------------------------------------- JSON shapes

/// A product as storegate's REST shows it; `F` is the factory summary
/// (`{id, name}`) or the full factory.
#[derive(Serialize)]
struct Product<F> {
    id: i32,
    sku: String,
    name: String,
    description: Option<String>,
    #[serde(serialize_with = "price")]
    price: i64,
    factory: F,
    #[serde(serialize_with = "timestamp")]
    created_at: Ts,
    #[serde(serialize_with = "timestamp")]
    updated_at: Ts,
}

#[derive(Serialize)]
struct FactorySummary {
    id: i32,
    name: String,
}

#[derive(Serialize)]
struct Factory {
    id: i32,
    name: String,
    address: String,
    city: String,
    country: String,
    phone: Option<String>,
    email: Option<String>,
    established_year: Option<i32>,
    capacity_per_month: Option<i32>,
    certifications: Vec<String>,
    #[serde(serialize_with = "timestamp")]
    created_at: Ts,
    #[serde(serialize_with = "timestamp")]
    updated_at: Ts,
}

#[derive(Serialize)]
struct Page<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct StoreDetail {
    id: i32,
    name: String,
    #[serde(serialize_with = "timestamp")]
    created_at: Ts,
    #[serde(serialize_with = "timestamp")]
    updated_at: Ts,
    items: Vec<ItemSummary>,
}

#[derive(Serialize)]
struct ItemSummary {
    id: i32,
    name: String,
    #[serde(serialize_with = "price")]
    price: i64,
}

#[derive(Serialize)]
struct Item {
    id: i32,
    name: String,
    #[serde(serialize_with = "price")]
    price: i64,
    store_id: i32,
    #[serde(serialize_with = "timestamp")]
    created_at: Ts,
    #[serde(serialize_with = "timestamp")]
    updated_at: Ts,
}

#[derive(Serialize)]
struct Todo {
    id: i32,
    title: String,
    status: String,
    #[serde(serialize_with = "timestamp")]
    created_at: Ts,
    #[serde(serialize_with = "timestamp")]
    updated_at: Ts,
    #[serde(serialize_with = "timestamp_or_null")]
    completed_at: Option<Ts>,
}

/// Integer cents as storegate's `Money::as_f64`: `1299` is `12.99`.
fn price<S: Serializer>(cents: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(*cents as f64 / 100.0)
}

/// storegate's `time::rfc3339` (RFC 3339, UTC, `Z`, always six fractional
/// digits), written into a stack buffer.
fn timestamp<S: Serializer>(at: &Ts, serializer: S) -> Result<S::Ok, S::Error> {
    let (year, nanos) = (at.year(), at.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true));
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    for (range, value) in [
        (0..4, year as u32),
        (5..7, at.month()),
        (8..10, at.day()),
        (11..13, at.hour()),
        (14..16, at.minute()),
        (17..19, at.second()),
        (20..26, nanos / 1000),
    ] {
        let mut value = value;
        for digit in text[range].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
}

fn timestamp_or_null<S: Serializer>(at: &Option<Ts>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp(at, serializer),
        None => serializer.serialize_none(),
    }
}

// ---------------------------------------------------------------- rows (by column index)

trait Columns: Sized {
    fn at(row: &PgRow, first: usize) -> sqlx::Result<Self>;
}

impl Columns for FactorySummary {
    fn at(row: &PgRow, i: usize) -> sqlx::Result<Self> {
        Ok(Self { id: row.try_get(i)?, name: row.try_get(i + 1)? })
    }
}

impl Columns for Factory {
    fn at(row: &PgRow, i: usize) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get(i)?,
            name: row.try_get(i + 1)?,
            address: row.try_get(i + 2)?,
            city: row.try_get(i + 3)?,
            country: row.try_get(i + 4)?,
            phone: row.try_get(i + 5)?,
            email: row.try_get(i + 6)?,
            established_year: row.try_get(i + 7)?,
            capacity_per_month: row.try_get(i + 8)?,
            certifications: row.try_get::<sqlx::types::Json<Vec<String>>, _>(i + 9)?.0,
            created_at: row.try_get(i + 10)?,
            updated_at: row.try_get(i + 11)?,
        })
    }
}

impl FromRow<'_, PgRow> for Factory {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Self::at(row, 0)
    }
}

impl<F: Columns> FromRow<'_, PgRow> for Product<F> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get(0)?,
            sku: row.try_get(1)?,
            name: row.try_get(2)?,
            description: row.try_get(3)?,
            price: row.try_get(4)?,
            created_at: row.try_get(5)?,
            updated_at: row.try_get(6)?,
            factory: F::at(row, 7)?,
        })
    }
}

impl FromRow<'_, PgRow> for Todo {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get(0)?,
            title: row.try_get(1)?,
            status: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            completed_at: row.try_get(5)?,
        })
    }
}

// ---------------------------------------------------------------- responses

enum Failure {
    NotFound,
    Invalid(&'static str, &'static str),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::NotFound => (StatusCode::NOT_FOUND, serde_json::json!({"status": 404})),
            Self::Invalid(field, message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"status": 422, "errors": [{"field": field, "message": message}]}),
            ),
            Self::Database(error) => {
                eprintln!("storegate-ceiling: database error: {error}");
                let status = match error {
                    sqlx::Error::PoolTimedOut => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                (status, serde_json::json!({"status": status.as_u16()}))
            }
        };
        (status, Json(body)).into_response()
    }
}

type Answer = Result<Response, Failure>;

/// A JSON body serialized into a buffer sized for it up front.
fn json<T: Serialize>(status: StatusCode, value: &T, capacity: usize) -> Answer {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).map_err(|e| Failure::Database(sqlx::Error::Decode(e.into())))?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

// ---------------------------------------------------------------- handlers

async fn product(State(db): State<PgPool>, Path(id): Path<i32>) -> Answer {
    let row: Option<Product<FactorySummary>> = sqlx::query_as(PRODUCT).bind(id).fetch_optional(&db).await?;
    json(StatusCode::OK, &row.ok_or(Failure::NotFound)?, 512)
}

async fn product_with_factory(State(db): State<PgPool>, Path(id): Path<i32>) -> Answer {
    let row: Option<Product<Factory>> =
        sqlx::query_as(PRODUCT_WITH_FACTORY).bind(id).fetch_optional(&db).await?;
    json(StatusCode::OK, &row.ok_or(Failure::NotFound)?, 1024)
}

async fn factory(State(db): State<PgPool>, Path(id): Path<i32>) -> Answer {
    let row: Option<Factory> = sqlx::query_as(FACTORY).bind(id).fetch_optional(&db).await?;
    json(StatusCode::OK, &row.ok_or(Failure::NotFound)?, 512)
}

#[derive(Deserialize)]
struct PageParams {
    limit: Option<String>,
    cursor: Option<String>,
}

fn decode_cursor(cursor: &str) -> Option<i32> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let id: i32 = std::str::from_utf8(&bytes).ok()?.strip_prefix(CURSOR_PREFIX)?.parse().ok()?;
    (id >= 0).then_some(id)
}

/// Products with their full factories, by id, one statement
/// (`WHERE id > cursor ORDER BY id LIMIT n + 1`, as storegate pages).
async fn products(State(db): State<PgPool>, Query(params): Query<PageParams>) -> Answer {
    let limit = match params.limit.as_deref().map(str::parse::<i64>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return Err(Failure::Invalid("limit", "must be an integer from 1 to 100")),
    };
    let after = match params.cursor.as_deref() {
        None => i32::MIN,
        Some(text) => {
            decode_cursor(text).ok_or(Failure::Invalid("cursor", "is not a cursor issued by this server"))?
        }
    };
    let mut data: Vec<Product<Factory>> =
        sqlx::query_as(PRODUCT_PAGE).bind(after).bind(limit + 1).fetch_all(&db).await?;
    let next_cursor = if data.len() as i64 > limit {
        data.truncate(limit as usize);
        data.last().map(|p| URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{}", p.id)))
    } else {
        None
    };
    let link = next_cursor.as_ref().and_then(|cursor| {
        let limit = params.limit.as_ref().map(|_| format!("limit={limit}&")).unwrap_or_default();
        HeaderValue::try_from(format!("</api/products?{limit}cursor={cursor}>; rel=\"next\"")).ok()
    });
    let capacity = 64 + data.len() * 768;
    let mut response = json(StatusCode::OK, &Page { data, next_cursor }, capacity)?;
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

async fn store(State(db): State<PgPool>, Path(id): Path<i32>) -> Answer {
    let rows = sqlx::query(STORE_WITH_ITEMS).bind(id).fetch_all(&db).await?;
    let first = rows.first().ok_or(Failure::NotFound)?;
    let mut store = StoreDetail {
        id: first.try_get(0)?,
        name: first.try_get(1)?,
        created_at: first.try_get(2)?,
        updated_at: first.try_get(3)?,
        items: Vec::with_capacity(rows.len()),
    };
    for row in &rows {
        if let Some(id) = row.try_get::<Option<i32>, _>(4)? {
            store.items.push(ItemSummary { id, name: row.try_get(5)?, price: row.try_get(6)? });
        }
    }
    json(StatusCode::OK, &store, 256 + rows.len() * 64)
}

#[derive(Deserialize)]
struct NewItem {
    name: String,
    price: f64,
    store_id: i32,
}

/// storegate's `Money::from_decimal`: exact cents, at least 0, at most 1e9.
fn cents(value: f64) -> Result<i64, Failure> {
    let scaled = value * 100.0;
    let cents = scaled.round();
    if !value.is_finite() || value < 0.0 || scaled > MAX_CENTS {
        return Err(Failure::Invalid("price", "must be a number from 0 to 1000000000"));
    }
    if (scaled - cents).abs() > 1e-6 * scaled.abs().max(1.0) {
        return Err(Failure::Invalid("price", "must have at most 2 decimal places"));
    }
    Ok(cents as i64)
}

/// Now, to the microsecond (what PostgreSQL keeps), as storegate's `time::now`.
fn now() -> Ts {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
}

async fn create_item(State(db): State<PgPool>, Json(input): Json<NewItem>) -> Answer {
    let name = input.name.trim();
    if !(1..=80).contains(&name.chars().count()) {
        return Err(Failure::Invalid("name", "must be 1 to 80 characters"));
    }
    let price = cents(input.price)?;
    let at = now();
    let inserted = sqlx::query_scalar(INSERT_ITEM)
        .bind(input.store_id)
        .bind(name)
        .bind(price)
        .bind(at)
        .fetch_one(&db)
        .await;
    let id: i32 = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            return Err(Failure::Invalid("store_id", "no store with this id"));
        }
        Err(e) => return Err(e.into()),
    };
    let item =
        Item { id, name: name.to_owned(), price, store_id: input.store_id, created_at: at, updated_at: at };
    let mut response = json(StatusCode::CREATED, &item, 256)?;
    if let Ok(location) = HeaderValue::try_from(format!("/api/items/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Status {
    Open,
    Completed,
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct TodoPatch {
    #[serde(default, deserialize_with = "present")]
    title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    status: Option<Option<Status>>,
}

async fn update_todo(State(db): State<PgPool>, Path(id): Path<i32>, Json(input): Json<TodoPatch>) -> Answer {
    let title = match &input.title {
        None => None,
        Some(None) => return Err(Failure::Invalid("title", "must not be null")),
        Some(Some(title)) if (1..=200).contains(&title.trim().chars().count()) => Some(title.trim()),
        Some(Some(_)) => return Err(Failure::Invalid("title", "must be 1 to 200 characters")),
    };
    let status = match input.status {
        None => None,
        Some(None) => return Err(Failure::Invalid("status", "must not be null")),
        Some(Some(Status::Open)) => Some("open"),
        Some(Some(Status::Completed)) => Some("completed"),
    };
    let row: Option<Todo> =
        sqlx::query_as(UPDATE_TODO).bind(id).bind(title).bind(status).bind(now()).fetch_optional(&db).await?;
    json(StatusCode::OK, &row.ok_or(Failure::NotFound)?, 256)
}

// ---------------------------------------------------------------- start-up

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match env::var(name) {
        Ok(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("storegate-ceiling: {name}={text:?} is not valid");
            std::process::exit(2)
        }),
        Err(_) => default,
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[tokio::main]
async fn main() {
    let Ok(url) = env::var("DATABASE_URL") else {
        eprintln!("storegate-ceiling: set DATABASE_URL to a postgres:// URL");
        std::process::exit(2)
    };
    let port: u16 = env_or("PORT", DEFAULT_PORT);
    let pool_size: u32 = env_or("POOL_SIZE", default_pool_size());
    // storegate (sea-orm's default) pings every connection it takes from the
    // pool, one extra round trip per statement; the ceiling does not unless
    // asked to, so the difference can be measured on its own.
    let ping: bool = env_or("PING_ON_ACQUIRE", false);
    let nodelay: bool = env_or("TCP_NODELAY", true);

    let db = match PgPoolOptions::new()
        .max_connections(pool_size)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(ping)
        .connect(&url)
        .await
    {
        Ok(db) => db,
        Err(error) => {
            eprintln!("storegate-ceiling: cannot open the database: {error}");
            std::process::exit(1)
        }
    };
    let app = Router::new()
        .route("/api/products", get(products))
        .route("/api/products/{id}", get(product))
        .route("/api/products/{id}/with-factory", get(product_with_factory))
        .route("/api/factories/{id}", get(factory))
        .route("/api/stores/{id}", get(store))
        .route("/api/items", post(create_item))
        .route("/api/todos/{id}", patch(update_todo))
        .with_state(db.clone());

    let address = format!("127.0.0.1:{port}");
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener.tap_io(move |stream| {
            if nodelay {
                let _ = stream.set_nodelay(true);
            }
        }),
        Err(error) => {
            eprintln!("storegate-ceiling: cannot listen on {address}: {error}");
            std::process::exit(1)
        }
    };
    println!("storegate-ceiling listening on http://{address} (pool {pool_size}, ping on acquire {ping})");
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await {
        eprintln!("storegate-ceiling: {error}");
    }
    db.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_chrono_rfc3339_micros() {
        for text in ["2026-11-22T00:46:00.767564Z", "2026-01-02T03:04:05Z", "0999-12-31T23:59:59.000001Z"] {
            let at: Ts = text.parse().unwrap();
            let ours = timestamp(&at, serde_json::value::Serializer).unwrap();
            assert_eq!(ours, serde_json::json!(at.to_rfc3339_opts(SecondsFormat::Micros, true)));
        }
    }

    #[test]
    fn prices_and_cursors_match_storegate() {
        assert_eq!(price(&1299, serde_json::value::Serializer).unwrap().to_string(), "12.99");
        assert_eq!(price(&1000, serde_json::value::Serializer).unwrap().to_string(), "10.0");
        assert_eq!(cents(12.99).ok(), Some(1299));
        assert!(cents(12.999).is_err() && cents(-0.01).is_err());
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("sg1:42")), Some(42));
    }
}
