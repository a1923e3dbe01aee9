//! The OpenAPI 3.1 document of the REST face (docs/API.md §3).
//!
//! Nothing here lists routes: the paths come from the handlers'
//! `#[utoipa::path]` attributes, collected by `utoipa_axum`'s router as the
//! routes are registered (`crate::rest::router`), and the schemas come from
//! the `ToSchema` derives on the very types the handlers read and write. This
//! module adds what is shared: the document's header, the bearer security
//! schemes, the problem+json error responses (and the sets of them that
//! whole kinds of route share), and the schema fragments of constrained
//! text fields.
//!
//! `storegate schema openapi` prints [`to_json`]; `openapi.json` at the repo
//! root must equal it (`tests/openapi_file.rs`). The server serves the same
//! document at `/api/openapi.json` and Swagger UI at `/api/docs`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr, Schema};
use utoipa::{IntoResponses, Modify, PartialSchema, ToResponse, ToSchema};

use crate::http::problem::PROBLEM_JSON;

/// The security scheme of access tokens (from login or refresh).
pub const BEARER: &str = "bearer";
/// The security scheme of refresh tokens (only `POST /api/auth/refresh`).
pub const REFRESH_BEARER: &str = "refreshToken";

/// Every `code` a problem can carry (the vocabulary of docs/API.md §3).
pub const PROBLEM_CODES: [&str; 14] = [
    "BAD_REQUEST",
    "UNAUTHENTICATED",
    "FRESH_TOKEN_REQUIRED",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "CONFLICT",
    "PRECONDITION_FAILED",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "BAD_USER_INPUT",
    "RATE_LIMITED",
    "INTERNAL",
    "SERVICE_UNAVAILABLE",
];

const DESCRIPTION: &str = "\
One set of data, two faces: this is the REST face (the same data is served as GraphQL at `/graphql`).

* **Auth**: send `Authorization: Bearer <access token>` (from `POST /api/auth/login`). \
Without the header a request is anonymous and may only read; a presented token that fails \
any check is a `401`, even on a public read. Creating or updating items and products needs a \
*fresh* token (one straight from login, not from a refresh). Stores and products belong to \
the user who created them (`owner_id`): only the owner or an admin changes or deletes them, \
and the items of a store; factories are for admins. Refresh tokens rotate: each is good for \
one use, and one used twice revokes its whole session.
* **Errors** are RFC 9457 `application/problem+json` with a stable `code`; validation errors \
(`422`) list every failing field in `errors`.
* **Money**: prices are JSON numbers with at most two decimals (`12.99`), stored exactly as \
integer cents; a third decimal is a `422`.
* **Pagination** is keyset-based: collections return `{\"data\": [...], \"next_cursor\": ...}`, \
take `?limit=` (1-100, default 20) and `?cursor=`, and set `Link: <...>; rel=\"next\"` while \
there is a next page.
* **Creates** answer `201` with a `Location` header; the body equals a later `GET`.
* **Conditional requests**: single resources carry a strong `ETag`; `If-None-Match` with the \
current tag answers `304`, and `If-Match` on `PUT`/`PATCH`/`DELETE` answers `412` (code \
`PRECONDITION_FAILED`, nothing changed) once the resource has changed.
* **Safe retries**: a create sent with an `Idempotency-Key` (1-255 characters) runs once; for 24 \
hours a retry with the same key and body gets the first answer again (`Idempotent-Replayed: \
true`), another body under the key is a `422`, and a retry while the first runs is a `409`.";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "storegate",
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "auth", description = "Sign-up, login, token refresh, logout (here or everywhere), password changes and the current user"),
        (name = "stores", description = "Stores and the items they hold"),
        (name = "items", description = "Items, each in one store"),
        (name = "factories", description = "Factories (admins write)"),
        (name = "products", description = "Products, each made by one factory"),
        (name = "todos", description = "The caller's own todos"),
    ),
    components(
        schemas(crate::http::problem::Problem, crate::http::problem::FieldErrorSchema, crate::rest::inputs::StatusName),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            NotModified,
            PreconditionFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            TooManyRequests,
            ServiceUnavailable,
        ),
    ),
    modifiers(&SecuritySchemes, &ProblemRequestId),
)]
struct ApiDoc;

/// The request id is added to problem bodies by a middleware
/// (`crate::observability`), not by [`crate::http::problem::Problem`] itself.
struct ProblemRequestId;

impl Modify for ProblemRequestId {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else { return };
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            problem.properties.insert(
                "request_id".into(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(
                        "The request's id (the `x-request-id` header, the client's own if it sent \
                         one); quote it when reporting a problem.",
                    ))
                    .examples([json!("5b081442-2ec6-4517-834b-8145eb41c207")])
                    .into(),
            );
        }
    }
}

/// Adds the two bearer schemes (Swagger UI's "Authorize" dialog offers both).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /api/auth/login` (fresh) or \
                         `POST /api/auth/refresh` (not fresh).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            REFRESH_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A refresh token from `POST /api/auth/login`; only `POST /api/auth/refresh` takes it.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Completes the paths and schemas collected from the handlers into the
/// whole document.
pub fn finish(collected: OpenApi) -> OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(collected);
    document
}

/// The document, as the server serves it.
pub fn document() -> OpenApi {
    crate::rest::openapi()
}

/// The document as pretty JSON with a final newline: what
/// `storegate schema openapi` prints and `openapi.json` holds. Object keys
/// come out in a stable order (utoipa keeps paths, components and
/// properties in sorted maps).
pub fn to_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

/// The body of a PATCH to a resource whose POST/PUT body is `T`: the same
/// fields, none required (absent fields keep their value). Named like `T`
/// with `Patch` for `Input`: `StoreInput` becomes `StorePatch`.
pub struct Partial<T>(PhantomData<T>);

impl<T: ToSchema> PartialSchema for Partial<T> {
    fn schema() -> RefOr<Schema> {
        let mut schema = T::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required.clear();
            object.description = Some(
                "A partial update: only the fields present change; `null` clears an optional field \
                 and is a 422 for a required one."
                    .into(),
            );
        }
        schema
    }
}

impl<T: ToSchema> ToSchema for Partial<T> {
    fn name() -> Cow<'static, str> {
        let name = T::name();
        format!("{}Patch", name.strip_suffix("Input").unwrap_or(&name)).into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        T::schemas(schemas);
    }
}

// ---------------------------------------------------------------------------
// Schema fragments for constrained fields (used with `#[schema(schema_with)]`).
// ---------------------------------------------------------------------------

/// Characters Rust's `str::trim` removes (Unicode `White_Space`), as a
/// regular-expression class that ECMA-262, Python and Rust read alike.
const WHITE_SPACE: &str = r"\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A pattern for text that, once trimmed, is 1 to `max` characters long.
fn trimmed_pattern(max: usize) -> String {
    let space = format!("[{WHITE_SPACE}]");
    let solid = format!("[^{WHITE_SPACE}]");
    format!("^{space}*{solid}(?:[\\s\\S]{{0,{}}}{solid})?{space}*$", max - 2)
}

fn trimmed_text(max: usize, nullable: bool, what: &str) -> Object {
    let kind = if nullable { self::nullable(Type::String) } else { Type::String.into() };
    ObjectBuilder::new()
        .schema_type(kind)
        .pattern(Some(trimmed_pattern(max)))
        .description(Some(format!(
            "{what}: leading and trailing white space is trimmed; what remains must be 1 to {max} \
             characters (characters, not bytes){}.",
            if nullable { "; `null` clears it" } else { "" }
        )))
        .build()
}

/// A name (stores, items, products, factories): trimmed, 1 to 80 characters.
pub fn name() -> Object {
    trimmed_text(80, false, "A name")
}

/// A factory's city or country: trimmed, 1 to 80 characters.
pub fn place() -> Object {
    trimmed_text(80, false, "A place name")
}

/// A factory's street address: trimmed, 1 to 200 characters.
pub fn address() -> Object {
    trimmed_text(200, false, "An address")
}

/// A todo's title: trimmed, 1 to 200 characters.
pub fn title() -> Object {
    trimmed_text(200, false, "A title")
}

/// A product's SKU: trimmed, 1 to 64 characters.
pub fn sku() -> Object {
    trimmed_text(64, false, "A stock-keeping unit")
}

/// A factory's phone number: trimmed, 1 to 40 characters, or `null`.
pub fn phone() -> Object {
    trimmed_text(40, true, "A phone number")
}

/// A factory's certifications: at most 50, each trimmed to 1 to 80 characters.
pub fn certifications() -> Array {
    let mut list = ArrayBuilder::new()
        .items(trimmed_text(80, false, "A certification"))
        .max_items(Some(crate::domain::factories::MAX_CERTIFICATIONS))
        .description(Some("At most 50 certifications; `null` is refused (send `[]` to clear)."))
        .build();
    list.examples = vec![json!(["ISO 9001", "ISO 14001"])];
    list
}

fn nullable(kind: Type) -> SchemaType {
    [kind, Type::Null].into_iter().collect()
}

/// A product's description: kept as sent, at most 2000 characters, or `null`.
pub fn description() -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .max_length(Some(2000))
        .description(Some(
            "At most 2000 characters, kept as sent; `null` (or, in a PUT, leaving it out) clears it.",
        ))
        .build()
}

/// A factory's email: an address (trimmed, stored lower-cased), or `null`.
pub fn email() -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .description(Some("An email address (trimmed, stored lower-cased); `null` clears it."))
        .build()
}

fn integer_or_null(minimum: i32, maximum: i32, what: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
        .description(Some(format!("{what}; `null` clears it.")))
        .build()
}

/// A factory's founding year, 1800 to 2100, or `null`.
pub fn established_year() -> Object {
    integer_or_null(1800, 2100, "The year the factory was established")
}

/// A factory's monthly capacity, at least 0, or `null`.
pub fn capacity_per_month() -> Object {
    integer_or_null(0, i32::MAX, "Units per month")
}

/// A todo's status, by reference (`TodoStatus`).
pub fn todo_status() -> Ref {
    let mut status = Ref::from_schema_name(crate::rest::inputs::StatusName::name());
    status.description = "`open` by default; completing sets `completed_at`, reopening clears it.".into();
    status
}

/// A price in a write: a JSON number with at most two decimals.
pub fn price() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(0))
        .maximum(Some(1_000_000_000))
        .description(Some(
            "A price: a JSON number from 0 to 1000000000 with at most two decimals (`12.99`); \
             a third decimal is refused with 422. Stored exactly, as integer cents.",
        ))
        .examples([json!(12.99)])
        .build()
}

/// A price in a response: at most two decimals, always.
pub fn price_out() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(0))
        .maximum(Some(1_000_000_000))
        .description(Some("A price with at most two decimals (exact: stored as integer cents)."))
        .examples([json!(12.99)])
        .build()
}

/// An RFC 3339 timestamp in UTC, microsecond precision.
pub fn timestamp() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339, UTC"))
        .examples([json!("2026-11-22T10:00:00.123456Z")])
        .build()
}

/// An optional RFC 3339 timestamp.
pub fn timestamp_or_null() -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339, UTC; `null` while not set"))
        .build()
}

/// An integer id: what the database's 32-bit keys hold.
pub fn id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(0))
        .maximum(Some(i32::MAX))
        .examples([json!(1)])
        .build()
}

/// The id of the user who owns a store or a product.
pub fn owner_id() -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(0))
        .maximum(Some(i32::MAX))
        .description(Some(
            "The user who created it, who may change and delete it (as may admins); `null` for rows \
             made before ownership existed or whose owner was deleted, which only admins may change.",
        ))
        .examples([json!(1)])
        .build()
}

/// The `code` of a problem.
pub fn problem_code() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(PROBLEM_CODES))
        .description(Some("Stable and machine-readable; shared with GraphQL's `extensions.code`."))
        .examples([json!("NOT_FOUND")])
        .build()
}

// ---------------------------------------------------------------------------
// Reusable problem+json responses: `(status = 404, response = NotFound)`.
// ---------------------------------------------------------------------------

fn problem(description: &str, example: serde_json::Value, headers: &[(&str, &str, Type)]) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
            .example(Some(example))
            .build(),
    );
    for (name, text, kind) in headers {
        response = response.header(
            *name,
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(kind.clone())))
                .description(Some(*text))
                .build(),
        );
    }
    response.build()
}

fn example(status: u16, code: &str, detail: &str) -> serde_json::Value {
    let title =
        axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    json!({"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code})
}

macro_rules! problem_response {
    ($(#[$doc:meta])* $name:ident => $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T($build))
            }
        }
    };
}

problem_response!(
    /// 400: the body is not a JSON object (or the query string is malformed).
    BadRequest => problem(
        "Malformed request: the body is not JSON, not an object, or lacks a field sign-up or \
         login needs; or the query string cannot be read.",
        example(400, "BAD_REQUEST", "malformed JSON: expected value"),
        &[],
    )
);

problem_response!(
    /// 401: no usable credentials.
    Unauthorized => problem(
        "No usable credentials: the action needs a bearer token and none was sent, or a presented \
         token was refused (malformed, expired, revoked, of the wrong kind, or of a user that no \
         longer exists). Item and product writes also need a fresh token (code \
         `FRESH_TOKEN_REQUIRED`). Always with `WWW-Authenticate: Bearer` (plus \
         `error=\"invalid_token\"` when a token was refused).",
        example(401, "UNAUTHENTICATED", "this action requires a bearer token"),
        &[("WWW-Authenticate", "`Bearer`, or `Bearer error=\"invalid_token\"`", Type::String)],
    )
);

problem_response!(
    /// 403: signed in, but not allowed.
    Forbidden => problem(
        "Signed in, but the action is reserved for admins.",
        example(403, "FORBIDDEN", "this action is reserved for admins"),
        &[],
    )
);

problem_response!(
    /// 404: no such resource.
    NotFound => problem(
        "No resource with this id (an id that is not a non-negative 32-bit integer names none; \
         another user's todo does not exist for you).",
        example(404, "NOT_FOUND", "no store with id 42"),
        &[],
    )
);

problem_response!(
    /// 409: the write conflicts with existing data.
    Conflict => problem(
        "The write conflicts with existing data (a name, SKU or email that is taken; a factory \
         that still has products).",
        example(409, "CONFLICT", "a store named \"Corner Shop\" already exists"),
        &[],
    )
);

problem_response!(
    /// 412: an `If-Match` that no longer names the current version.
    PreconditionFailed => problem(
        "`If-Match` named no current version of the resource: it changed since it was read. \
         Nothing was changed; read it again (its new `ETag`) and retry.",
        example(
            412,
            "PRECONDITION_FAILED",
            "the resource has changed since the version this write expects; read it again",
        ),
        &[],
    )
);

/// 304: the client's copy (`If-None-Match`) is current; no body.
pub struct NotModified;

impl<'r> ToResponse<'r> for NotModified {
    fn response() -> (&'r str, RefOr<Response>) {
        let etag = HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("The current tag, the one the client sent"))
            .build();
        let response = ResponseBuilder::new()
            .description("Not modified: `If-None-Match` names the current representation. No body.")
            .header("ETag", etag)
            .build();
        ("NotModified", RefOr::T(response))
    }
}

problem_response!(
    /// 413: the body is over 1 MiB.
    PayloadTooLarge => problem(
        "The request body exceeds the 1 MiB limit.",
        example(413, "PAYLOAD_TOO_LARGE", "the request body exceeds the 1 MiB limit"),
        &[],
    )
);

problem_response!(
    /// 415: the body is not JSON.
    UnsupportedMediaType => problem(
        "The request body must be `application/json` (or another `+json` type).",
        example(415, "UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json"),
        &[],
    )
);

problem_response!(
    /// 422: validation failed; every failing field is listed.
    UnprocessableEntity => problem(
        "Validation failed. `errors` lists every failing field at once (body fields, or the \
         query parameters `limit`, `cursor` and filters).",
        json!({
            "type": "about:blank",
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "invalid input: name, price, store_id",
            "code": "BAD_USER_INPUT",
            "errors": [
                {"field": "name", "message": "must be 1 to 80 characters"},
                {"field": "price", "message": "must be at least 0"},
                {"field": "store_id", "message": "no store with this id"}
            ]
        }),
        &[],
    )
);

problem_response!(
    /// 429: too many login or sign-up attempts.
    TooManyRequests => problem(
        "Too many failed logins for this email (5 in 15 minutes by default) or from this client \
         address (100), or too many sign-ups from this client address (20 an hour by default); \
         retry after `Retry-After` seconds.",
        example(429, "RATE_LIMITED", "too many attempts; retry in 840 s"),
        &[("Retry-After", "Seconds to wait before retrying", Type::Integer)],
    )
);

problem_response!(
    /// 503: the database or Redis is unavailable.
    ServiceUnavailable => problem(
        "The database (or Redis, which holds revoked tokens when configured) is unavailable; \
         retry after `Retry-After` seconds.",
        example(503, "SERVICE_UNAVAILABLE", "the service is temporarily unavailable; retry shortly"),
        &[("Retry-After", "Seconds to wait before retrying", Type::Integer)],
    )
);

// ---------------------------------------------------------------------------
// Sets of those responses that whole kinds of route share, so that a route
// lists only its own: `responses((status = 200, ...), (status = 404,
// response = NotFound), CommonErrors, BodyErrors)`. Each entry refers to the
// one component above, exactly as `(status = 401, response = Unauthorized)`
// would. A macro rather than `#[derive(IntoResponses)]` enums, which take
// two lines a status and make each set the same block again.
// ---------------------------------------------------------------------------

macro_rules! response_set {
    ($(#[$doc:meta])* $name:ident: $($status:literal => $response:ty),+) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$((
                    $status.to_string(),
                    RefOr::Ref(Ref::from_response_name(<$response as ToResponse>::response().0)),
                )),+])
            }
        }
    };
}

response_set!(
    /// 401 and 503: every route checks a presented token and needs the database.
    CommonErrors: 401 => Unauthorized, 503 => ServiceUnavailable
);

response_set!(
    /// 400 and 422: routes that read query parameters (`limit`, `cursor`, filters).
    QueryErrors: 400 => BadRequest, 422 => UnprocessableEntity
);

response_set!(
    /// 400, 413, 415 and 422: routes that read a JSON body.
    BodyErrors: 400 => BadRequest, 413 => PayloadTooLarge, 415 => UnsupportedMediaType,
        422 => UnprocessableEntity
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::{AppError, FieldError};
    use crate::http::problem::HttpError;

    /// One error of each kind; the `match`es stop compiling when a variant
    /// is added, so the list (and `PROBLEM_CODES`) cannot fall behind.
    fn one_of_each() -> Vec<HttpError> {
        let domain = vec![
            AppError::BadRequest(String::new()),
            AppError::login_required(),
            AppError::FreshTokenRequired,
            AppError::Forbidden(String::new()),
            AppError::NotFound(String::new()),
            AppError::Conflict(String::new()),
            AppError::PreconditionFailed(String::new()),
            AppError::Validation(vec![FieldError::new("a", "b")]),
            AppError::RateLimited { retry_after_secs: 1 },
            AppError::ServiceUnavailable { retry_after_secs: 1 },
            AppError::internal(anyhow::anyhow!("x")),
        ];
        for error in &domain {
            match error {
                AppError::BadRequest(_)
                | AppError::Unauthenticated { .. }
                | AppError::FreshTokenRequired
                | AppError::Forbidden(_)
                | AppError::NotFound(_)
                | AppError::Conflict(_)
                | AppError::PreconditionFailed(_)
                | AppError::Validation(_)
                | AppError::RateLimited { .. }
                | AppError::ServiceUnavailable { .. }
                | AppError::Internal(_) => {}
            }
        }
        let mut all: Vec<HttpError> = domain.into_iter().map(HttpError::from).collect();
        all.extend([
            HttpError::MethodNotAllowed { allow: String::new() },
            HttpError::PayloadTooLarge,
            HttpError::UnsupportedMediaType(String::new()),
        ]);
        for error in &all {
            match error {
                HttpError::App(_)
                | HttpError::MethodNotAllowed { .. }
                | HttpError::PayloadTooLarge
                | HttpError::UnsupportedMediaType(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_error_code_is_documented() {
        let mut codes: Vec<&str> = one_of_each().iter().map(HttpError::code).collect();
        let mut documented = PROBLEM_CODES.to_vec();
        codes.sort_unstable();
        documented.sort_unstable();
        assert_eq!(codes, documented);
    }

    #[test]
    fn every_reference_resolves() {
        let document = serde_json::to_value(document()).unwrap();
        let mut stack = vec![&document];
        while let Some(value) = stack.pop() {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').expect("a local reference");
                        assert!(document.pointer(pointer).is_some(), "dangling reference {target}");
                    }
                    stack.extend(map.values());
                }
                serde_json::Value::Array(list) => stack.extend(list),
                _ => {}
            }
        }
    }
}
