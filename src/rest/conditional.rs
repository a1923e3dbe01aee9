//! Validators and preconditions (docs/API.md §3.2): a strong `ETag` on
//! every single resource, `If-None-Match` on reads (`304`), `If-Match` on
//! writes (`412`).
//!
//! A tag is a hash of the exact JSON bytes the client receives, so it
//! changes whenever the representation does (a store's embeds its items:
//! an item's change changes its store's tag) and needs no column of its
//! own. A write's `If-Match` becomes a domain [`Expect`]: the domain runs
//! the check on the row it has locked, inside the write's transaction, by
//! rendering that row as this face would and hashing it.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::error::AppError;
use crate::domain::precondition::Expect;

/// The strong tag of a representation whose JSON is `bytes`: 128 bits of
/// its SHA-256, quoted.
pub fn etag_of_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        tag.push_str(&format!("{byte:02x}"));
    }
    tag.push('"');
    tag
}

/// The tag of `body` as a response would send it (`None` only if it does
/// not serialize, which would be a bug).
fn etag_of<T: Serialize>(body: &T) -> Option<String> {
    serde_json::to_vec(body).ok().map(|bytes| etag_of_bytes(&bytes))
}

/// `application/json` with the body's `ETag`, in `status`. A body that does
/// not serialize is a bug, answered 500.
pub fn tagged_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => tagged_bytes(status, bytes),
        Err(error) => {
            AppError::internal(anyhow::Error::new(error).context("serializing a response")).into_response()
        }
    }
}

/// A JSON body already serialized, with its `ETag`.
pub fn tagged_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let tag = etag_of_bytes(&bytes);
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// A `200 OK` JSON body with its `ETag`: what single-resource writes answer.
pub struct Tagged<T>(pub T);

impl<T: Serialize> IntoResponse for Tagged<T> {
    fn into_response(self) -> Response {
        tagged_json(StatusCode::OK, &self.0)
    }
}

/// The entity-tags of a precondition header: `*`, or a list of tags
/// (`"abc", W/"def"`). Malformed members are skipped: they match nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    Any,
    List(Vec<EntityTag>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct EntityTag {
    weak: bool,
    /// The opaque tag with its quotes, as sent in `ETag`.
    opaque: String,
}

impl Tags {
    /// A header's value (its lines joined, RFC 9110 §5.3).
    fn parse(text: &str) -> Self {
        if text.trim() == "*" { Self::Any } else { Self::List(parse_list(text)) }
    }

    /// RFC 9110 §8.8.3.2: weak comparison (`If-None-Match`).
    fn matches_weakly(&self, tag: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(tags) => tags.iter().any(|t| t.opaque == tag),
        }
    }

    /// Strong comparison (`If-Match`): a weak tag matches nothing.
    fn matches_strongly(&self, tag: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(tags) => tags.iter().any(|t| !t.weak && t.opaque == tag),
        }
    }
}

/// `#entity-tag`: `W/"x", "y"`. Scans rather than splits on commas, which
/// may appear inside a quoted tag; stops at the first malformed member.
fn parse_list(text: &str) -> Vec<EntityTag> {
    let mut tags = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return tags;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(quoted) = rest.strip_prefix('"') else { return tags };
        let Some(end) = quoted.find('"') else { return tags };
        tags.push(EntityTag { weak, opaque: format!("\"{}\"", &quoted[..end]) });
        rest = &quoted[end + 1..];
    }
}

/// The `If-None-Match` of a read.
#[derive(utoipa::IntoParams)]
#[into_params(names("If-None-Match"), parameter_in = Header)]
pub struct IfNoneMatch(
    /// A tag from an earlier `ETag` (or a list of them, or `*`): while it is
    /// current the answer is `304 Not Modified` without a body.
    #[param(example = "\"5d41402abc4b2a76b9719d911017c592\"")]
    Option<String>,
);

impl IfNoneMatch {
    /// `200` with `body` and its `ETag`, or `304` with only the `ETag` when
    /// the client already holds this representation.
    pub fn answer<T: Serialize>(&self, body: &T) -> Response {
        let Ok(bytes) = serde_json::to_vec(body) else { return tagged_json(StatusCode::OK, body) };
        let tag = etag_of_bytes(&bytes);
        if let Some(text) = &self.0
            && Tags::parse(text).matches_weakly(&tag)
        {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(value) = HeaderValue::from_str(&tag) {
                response.headers_mut().insert(header::ETAG, value);
            }
            return response;
        }
        tagged_bytes(StatusCode::OK, bytes)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(joined(&parts.headers, &header::IF_NONE_MATCH)))
    }
}

/// The `If-Match` of a write.
#[derive(utoipa::IntoParams)]
#[into_params(names("If-Match"), parameter_in = Header)]
pub struct IfMatch(
    /// The `ETag` the write expects (or a list of them, or `*`): when the
    /// resource's current tag is not among them the answer is `412
    /// Precondition Failed` and nothing changes. Without it the write
    /// proceeds unconditionally.
    #[param(example = "\"5d41402abc4b2a76b9719d911017c592\"")]
    Option<String>,
);

impl IfMatch {
    /// Whether `body`, the current representation, is one the client named.
    pub fn matches<T: Serialize>(&self, body: &T) -> bool {
        match self.0.as_deref().map(Tags::parse) {
            None | Some(Tags::Any) => true,
            Some(tags) => etag_of(body).is_some_and(|tag| tags.matches_strongly(&tag)),
        }
    }

    /// The domain's expectation: `check` (which renders the current state
    /// and asks [`matches`](Self::matches)) when an `If-Match` was sent.
    pub fn expect<'a, T>(&self, check: &'a (dyn Fn(&T) -> bool + Send + Sync)) -> Expect<'a, T> {
        match self.0 {
            Some(_) => Expect::Version(check),
            None => Expect::Anything,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(joined(&parts.headers, &header::IF_MATCH)))
    }
}

/// Every line of a list-valued header as one value (RFC 9110 §5.3); a line
/// that is not text becomes one that matches nothing.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let lines: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|line| String::from_utf8_lossy(line.as_bytes()).into_owned())
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_tags_are_scanned_not_split() {
        let tags = parse_list(r#" "a,b" , W/"c",,"d" junk "e""#);
        let opaque: Vec<(bool, &str)> = tags.iter().map(|t| (t.weak, t.opaque.as_str())).collect();
        assert_eq!(opaque, vec![(false, "\"a,b\""), (true, "\"c\""), (false, "\"d\"")]);
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        let tags = Tags::List(parse_list(r#"W/"x", "y""#));
        assert!(tags.matches_weakly("\"x\""));
        assert!(!tags.matches_strongly("\"x\""));
        assert!(tags.matches_strongly("\"y\""));
        assert!(!tags.matches_strongly("\"z\""));
        assert!(Tags::Any.matches_strongly("\"anything\""));
    }

    #[test]
    fn a_tag_is_a_quoted_hash_of_the_exact_bytes() {
        let tag = etag_of_bytes(br#"{"id":1}"#);
        assert_eq!(tag.len(), 34);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_ne!(tag, etag_of_bytes(br#"{"id": 1}"#));
        assert_eq!(Some(tag), etag_of(&serde_json::json!({"id": 1})));
    }
}
