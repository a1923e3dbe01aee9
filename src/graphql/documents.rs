//! Parsed GraphQL documents, kept by their text.
//!
//! Parsing was the largest single cost of a small operation (callgrind:
//! 43% of the instructions of a product-with-factory query, BENCHMARKS.md),
//! and clients send the same few documents again and again: their code
//! holds them as constants. So the parsed form of recent documents is kept
//! and copied into each request. Validation still runs on every request,
//! because its outcome depends on the variables.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Distinct documents kept; the least recently used goes first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(128).expect("non-zero");
/// Longer documents are parsed every time, so that the cache stays small
/// (a few MiB at most) whatever clients send.
const MAX_CACHED_BYTES: usize = 8 * 1024;

pub struct DocumentCache {
    parsed: Mutex<LruCache<String, Arc<ExecutableDocument>>>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self { parsed: Mutex::new(LruCache::new(CAPACITY)) }
    }
}

impl DocumentCache {
    /// Gives `request` its parsed document from the cache, or parses it
    /// and keeps the result. A document that does not parse is not kept:
    /// the schema reports its syntax error as usual.
    pub fn prime(&self, request: &mut async_graphql::Request) {
        if request.query.len() > MAX_CACHED_BYTES {
            return;
        }
        let cached = self.lock().get(&request.query).cloned();
        if let Some(document) = cached {
            request.set_parsed_query(ExecutableDocument::clone(&document));
            return;
        }
        if let Ok(document) = request.parsed_query() {
            let document = Arc::new(document.clone());
            self.lock().put(request.query.clone(), document);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<ExecutableDocument>>> {
        // The cache holds no invariant a panic could break.
        self.parsed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_parsed_documents_and_skips_broken_and_oversized_ones() {
        let cache = DocumentCache::default();
        let mut first = async_graphql::Request::new("{ product(id: 1) { name } }");
        cache.prime(&mut first);
        assert_eq!(cache.len(), 1);
        let mut again = async_graphql::Request::new("{ product(id: 1) { name } }");
        cache.prime(&mut again);
        assert_eq!(cache.len(), 1);
        assert_eq!(again.parsed_query().expect("cached").operations.iter().count(), 1);

        let mut broken = async_graphql::Request::new("{ product(id: ");
        cache.prime(&mut broken);
        assert_eq!(cache.len(), 1, "a syntax error is not kept");
        assert!(broken.parsed_query().is_err());

        let long = format!("{{ {} }}", "__typename ".repeat(MAX_CACHED_BYTES / 10));
        let mut oversized = async_graphql::Request::new(long);
        cache.prime(&mut oversized);
        assert_eq!(cache.len(), 1, "an oversized document is not kept");
    }
}
