//! Parsed GraphQL documents, kept by their text, and whether they passed
//! validation.
//!
//! Parsing was the largest single cost of a small operation (BENCHMARKS.md,
//! "Decisions that shaped performance"), and clients send the same few
//! documents again and again: their code holds them as constants. So the
//! parsed form of recent documents is kept and copied into each request.
//!
//! Validation was the next largest. Every rule but one looks at the
//! document alone; `ArgumentsOfCorrectType` also checks the variables'
//! values against the arguments they fill, and complexity depends on them.
//! So a document that passed every rule once runs on the schema that checks
//! only depth, complexity and fragment cycles, but only while each variable
//! is plainly a value of its declared built-in type (see
//! [`KnownDocument::may_skip_rules`]); any other request, and any doubt,
//! gets the full rules and their error messages.
//!
//! Automatic persisted queries (Apollo's protocol, version 1) ride on the
//! same cache: a client that sent a document with its SHA-256 once may send
//! the hash alone after that (`extensions.persistedQuery`). The hash is
//! resolved to its text before anything else reads the request, so a
//! mutation sent by hash over GET is refused like any other. (async-graphql's
//! `ApolloPersistedQueries` extension resolves it inside `Schema::execute`,
//! after that check and after this cache, so it is not used.)

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Type,
};
use async_graphql::{ErrorExtensions, Request, Value};
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::domain::error::AppError;

/// Distinct documents kept; the least recently used goes first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(128).expect("non-zero");
/// Longer documents are parsed every time, so that the cache stays small
/// (a few MiB at most) whatever clients send.
const MAX_CACHED_BYTES: usize = 8 * 1024;

/// A document seen before: its parsed form, and whether a request with it
/// ran through every validation rule without an error.
pub struct KnownDocument {
    parsed: ExecutableDocument,
    passed_rules: AtomicBool,
}

impl KnownDocument {
    /// Records that a request with this document ran under every rule and
    /// answered without any error (so no rule found one either).
    pub fn passed_rules(&self) {
        self.passed_rules.store(true, Ordering::Relaxed);
    }

    /// Whether `request` may skip the rules that look at the document alone:
    /// the document passed them before, and the variables of the operation
    /// it runs are values that `ArgumentsOfCorrectType` would accept without
    /// a doubt. Since the document passed `VariableInAllowedPosition`, each
    /// variable fills only arguments of its own type, so a value of that
    /// type is valid there.
    pub fn may_skip_rules(&self, request: &Request) -> bool {
        if !self.passed_rules.load(Ordering::Relaxed) {
            return false;
        }
        let Some(operation) = selected_operation(&self.parsed, request.operation_name.as_deref()) else {
            return false;
        };
        operation.variable_definitions.iter().all(|definition| {
            let definition = &definition.node;
            let declared = &definition.var_type.node;
            match request.variables.get(&definition.name.node) {
                None => declared.nullable || definition.default_value.is_some(),
                Some(value) => plainly_of_type(declared, value),
            }
        })
    }
}

/// The operation `request` runs, when its document parses and its
/// `operationName` (or the document having one operation) settles which.
pub fn operation_of(request: &mut Request) -> Option<&OperationDefinition> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    selected_operation(document, name.as_deref())
}

/// The operation a request runs, when the document and the name settle it
/// (otherwise the full path reports the problem).
fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name).map(|o| &o.node),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|o| &o.node)
        }
        _ => None,
    }
}

fn lock<T>(cache: &Mutex<T>) -> MutexGuard<'_, T> {
    // The caches hold no invariant a panic could break.
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The hash of a `persistedQuery` extension, lowercased.
fn persisted_hash(extension: &Value) -> Result<String, PersistedQueryError> {
    let malformed = || {
        PersistedQueryError::Malformed(
            r#"extensions.persistedQuery must be {"version": 1, "sha256Hash": "<64 hex digits>"}"#.into(),
        )
    };
    let Value::Object(fields) = extension else { return Err(malformed()) };
    match fields.get("version") {
        Some(Value::Number(version)) if version.as_u64() == Some(1) => {}
        Some(Value::Number(version)) => {
            return Err(PersistedQueryError::Malformed(format!(
                "persisted query version {version} is not supported; only version 1 is"
            )));
        }
        _ => return Err(malformed()),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(malformed()),
    }
}

/// Whether `value` is a value of `declared` that no built-in scalar could
/// refuse. Input objects, enums and custom scalars answer `false`: their
/// requests take the full rules. Stricter than async-graphql where they
/// differ (an `Int` must fit 32 bits), never looser.
fn plainly_of_type(declared: &Type, value: &Value) -> bool {
    match (&declared.base, value) {
        (_, Value::Null) => declared.nullable,
        (BaseType::List(inner), Value::List(values)) => values.iter().all(|v| plainly_of_type(inner, v)),
        (BaseType::List(_), _) => false,
        (BaseType::Named(name), value) => match (name.as_str(), value) {
            ("ID", Value::String(_)) | ("String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
            ("ID", Value::Number(n)) => n.is_i64(),
            ("Int", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            ("Float", Value::Number(_)) => true,
            _ => false,
        },
    }
}

/// Why a persisted-query request could not be resolved to a document.
#[derive(Debug, PartialEq, Eq)]
pub enum PersistedQueryError {
    /// The hash alone, and no document is kept under it (never sent, or
    /// dropped since): the client sends the document with its hash again.
    NotFound,
    /// The document's SHA-256 is not the hash sent with it.
    HashMismatch,
    /// Not `{"version": 1, "sha256Hash": "<64 hex digits>"}`.
    Malformed(String),
}

/// Apollo's message and code for a miss, which its clients look for to
/// resend the document; the shared `BAD_REQUEST` otherwise.
impl From<PersistedQueryError> for async_graphql::Error {
    fn from(error: PersistedQueryError) -> Self {
        match error {
            PersistedQueryError::NotFound => async_graphql::Error::new("PersistedQueryNotFound")
                .extend_with(|_, extensions| extensions.set("code", "PERSISTED_QUERY_NOT_FOUND")),
            PersistedQueryError::HashMismatch => {
                AppError::BadRequest("provided sha does not match query".into()).into()
            }
            PersistedQueryError::Malformed(detail) => AppError::BadRequest(detail).into(),
        }
    }
}

pub struct DocumentCache {
    known: Mutex<LruCache<String, Arc<KnownDocument>>>,
    /// Persisted queries: lowercase hex SHA-256 to the document's text.
    persisted: Mutex<LruCache<String, Arc<str>>>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DocumentCache {
    pub fn new() -> Self {
        Self { known: Mutex::new(LruCache::new(CAPACITY)), persisted: Mutex::new(LruCache::new(CAPACITY)) }
    }

    /// Resolves `extensions.persistedQuery`, when the request has one: the
    /// hash alone becomes the document kept under it; a document with its
    /// hash is checked against it and kept (up to the same size as parsed
    /// documents; a longer one runs but must be sent whole every time).
    /// A request without the extension is left as it is.
    ///
    /// # Errors
    /// An unknown hash, a hash that does not match the document, or an
    /// extension that is not version 1 with a SHA-256.
    pub fn resolve_persisted(&self, request: &mut Request) -> Result<(), PersistedQueryError> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let hash = persisted_hash(&extension)?;
        if request.query.is_empty() {
            let query = lock(&self.persisted).get(&hash).cloned().ok_or(PersistedQueryError::NotFound)?;
            request.query = query.to_string();
            return Ok(());
        }
        if format!("{:x}", Sha256::digest(request.query.as_bytes())) != hash {
            return Err(PersistedQueryError::HashMismatch);
        }
        if request.query.len() <= MAX_CACHED_BYTES {
            lock(&self.persisted).put(hash, request.query.as_str().into());
        }
        Ok(())
    }

    /// Gives `request` its parsed document from the cache, or parses it
    /// and keeps the result. A document that does not parse is not kept:
    /// the schema reports its syntax error as usual. Returns the kept
    /// document, if any, for the caller to record its validation.
    pub fn prime(&self, request: &mut Request) -> Option<Arc<KnownDocument>> {
        if request.query.len() > MAX_CACHED_BYTES {
            return None;
        }
        let cached = self.lock().get(&request.query).cloned();
        if let Some(known) = cached {
            request.set_parsed_query(known.parsed.clone());
            return Some(known);
        }
        let parsed = request.parsed_query().ok()?.clone();
        let known = Arc::new(KnownDocument { parsed, passed_rules: AtomicBool::new(false) });
        self.lock().put(request.query.clone(), Arc::clone(&known));
        Some(known)
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<String, Arc<KnownDocument>>> {
        lock(&self.known)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Variables;

    use super::*;

    #[test]
    fn keeps_parsed_documents_and_skips_broken_and_oversized_ones() {
        let cache = DocumentCache::new();
        let mut first = Request::new("{ product(id: 1) { name } }");
        assert!(cache.prime(&mut first).is_some());
        assert_eq!(cache.len(), 1);
        let mut again = Request::new("{ product(id: 1) { name } }");
        assert!(cache.prime(&mut again).is_some());
        assert_eq!(cache.len(), 1);
        assert_eq!(again.parsed_query().expect("cached").operations.iter().count(), 1);

        let mut broken = Request::new("{ product(id: ");
        assert!(cache.prime(&mut broken).is_none());
        assert_eq!(cache.len(), 1, "a syntax error is not kept");
        assert!(broken.parsed_query().is_err());

        let long = format!("{{ {} }}", "__typename ".repeat(MAX_CACHED_BYTES / 10));
        let mut oversized = Request::new(long);
        assert!(cache.prime(&mut oversized).is_none());
        assert_eq!(cache.len(), 1, "an oversized document is not kept");
    }

    fn known(query: &str) -> (Arc<KnownDocument>, DocumentCache) {
        let cache = DocumentCache::new();
        let known = cache.prime(&mut Request::new(query)).expect("parses");
        (known, cache)
    }

    fn with_variables(query: &str, variables: serde_json::Value) -> Request {
        Request::new(query).variables(Variables::from_json(variables))
    }

    #[test]
    fn skips_rules_only_after_they_passed() {
        let query = "query($id: ID!) { product(id: $id) { name } }";
        let (document, _cache) = known(query);
        let request = with_variables(query, serde_json::json!({ "id": "7" }));
        assert!(!document.may_skip_rules(&request), "never validated yet");
        document.passed_rules();
        assert!(document.may_skip_rules(&request));
    }

    #[test]
    fn variables_must_plainly_be_of_their_declared_type() {
        let query = "query($id: ID!, $first: Int, $tags: [String!], $price: Float, $on: Boolean) \
                     { product(id: $id) { name } }";
        let (document, _cache) = known(query);
        document.passed_rules();
        let skips = |variables: serde_json::Value| document.may_skip_rules(&with_variables(query, variables));

        assert!(skips(serde_json::json!({ "id": 7, "first": 100, "tags": ["a"], "price": 1.5, "on": true })));
        assert!(skips(serde_json::json!({ "id": "7", "first": null, "tags": null })));
        assert!(!skips(serde_json::json!({})), "a missing required variable");
        assert!(!skips(serde_json::json!({ "id": null })), "null for a required variable");
        assert!(!skips(serde_json::json!({ "id": 1.5 })), "a fraction is no ID");
        assert!(!skips(serde_json::json!({ "id": "7", "first": "100" })), "a string is no Int");
        assert!(!skips(serde_json::json!({ "id": "7", "first": 3_000_000_000_i64 })), "beyond 32 bits");
        assert!(!skips(serde_json::json!({ "id": "7", "tags": "a" })), "a single value for a list");
        assert!(!skips(serde_json::json!({ "id": "7", "tags": [null] })), "null in a list of non-null");
        assert!(!skips(serde_json::json!({ "id": "7", "on": 1 })), "a number is no Boolean");
    }

    #[test]
    fn input_objects_enums_and_unknown_operations_take_the_full_rules() {
        let query = "query($input: CreateItemInput!) { __typename }";
        let (document, _cache) = known(query);
        document.passed_rules();
        assert!(!document.may_skip_rules(&with_variables(query, serde_json::json!({ "input": {} }))));

        let query = "query A { __typename } query B($id: ID = 1) { product(id: $id) { name } }";
        let (document, _cache) = known(query);
        document.passed_rules();
        assert!(!document.may_skip_rules(&Request::new(query)), "two operations, none named");
        assert!(document.may_skip_rules(&Request::new(query).operation_name("B")), "a default fills $id");
        assert!(!document.may_skip_rules(&Request::new(query).operation_name("C")));
    }
}
