//! Login and sign-up throttling (docs/API.md §5).
//!
//! Login: after `LOGIN_MAX_FAILURES` failures for one email within 15
//! minutes, or 100 from one client address, login answers 429 with
//! `Retry-After` until the window passes. Sign-up: `SIGNUP_MAX_PER_ADDRESS`
//! attempts per client address per hour.
//!
//! An attempt *reserves* its place before its password is checked: the
//! email's and the address's counters are checked and incremented in one
//! atomic step, and a successful login gives its reservation back. So N
//! concurrent guesses check at most the limit's worth of passwords; the
//! rest get 429 without hashing anything. An attempt whose request is
//! dropped mid-check keeps its reservation: cancelling cannot buy a guess.
//!
//! Counters are fixed windows (the window starts at a key's first count)
//! kept behind [`CounterStore`]: in Redis when `REDIS_URL` is set, so every
//! instance shares them, and otherwise in a size-bounded LRU in this
//! process. Keys never hold raw input: an email becomes a key only once it
//! is a valid address of at most [`MAX_EMAIL_BYTES`], and then as a
//! SHA-256 digest (no addresses in Redis, a fixed key size).

use std::fmt::Write;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lru::LruCache;
use sha2::{Digest, Sha256};
use validator::ValidateEmail;

use crate::domain::error::AppError;
use crate::redis_link::LazyRedis;

pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_MAX_FAILURES_PER_EMAIL: u32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 100;
/// RFC 5321's limit on a forward path, in bytes: longer input is no
/// address anyone can sign up with, and never becomes a key.
pub const MAX_EMAIL_BYTES: usize = 254;
/// Counters the in-memory store keeps; past it the least recently used is
/// dropped. Each entry is under 200 bytes (keys are at most ~80 bytes), so
/// the store stays under ~20 MB however many keys clients invent. Evicting
/// a live counter takes 100 000 fresh counted attempts, each a password
/// hash or a distinct address, within one window.
pub const MEMORY_STORE_CAPACITY: NonZeroUsize = NonZeroUsize::new(100_000).unwrap();
/// Redis keys are `storegate:throttle:<counter>`.
pub const REDIS_PREFIX: &str = "storegate:throttle:";

/// The email as a throttle key would name it: trimmed, lower-cased, and
/// only if it is an address of at most [`MAX_EMAIL_BYTES`]; `None` for
/// anything else (which then never reaches a store).
pub fn normalized_email(raw: &str) -> Option<String> {
    let email = raw.trim();
    // Checked before lower-casing so an oversized body costs no copy.
    if email.len() > MAX_EMAIL_BYTES {
        return None;
    }
    let email = email.to_lowercase();
    (email.len() <= MAX_EMAIL_BYTES && email.validate_email()).then_some(email)
}

fn email_key(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let mut key = String::with_capacity(12 + 64);
    key.push_str("login:email:");
    for byte in digest {
        let _ = write!(key, "{byte:02x}"); // Writing to a String cannot fail.
    }
    key
}

/// The part of an address that identifies one client: an IPv4 address, or
/// an IPv6 /64 (one host or household is handed a whole /64, so counting
/// single IPv6 addresses would give it 2^64 budgets).
fn address_part(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// One counter an attempt must find room in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    pub max: u32,
    pub window: Duration,
}

/// Where the counters live.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// In one atomic step: if every counter is below its `max`, adds one to
    /// each (a counter's window starts at its first count) and answers
    /// `None`; otherwise adds nothing and answers how long until the last
    /// full counter's window ends.
    async fn reserve(&self, limits: &[Limit]) -> Result<Option<Duration>, AppError>;

    /// Takes one count back from each key still in its window.
    async fn release(&self, keys: &[String]) -> Result<(), AppError>;

    /// Where the counters are kept, for logs.
    fn backend(&self) -> &'static str;
}

#[derive(Debug, Clone, Copy)]
struct Window {
    ends: Instant,
    count: u32,
}

/// Counters in this process, at most `capacity` of them.
pub struct MemoryCounterStore {
    windows: Mutex<LruCache<String, Window>>,
}

impl MemoryCounterStore {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self { windows: Mutex::new(LruCache::new(capacity)) }
    }

    /// How many counters are kept (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a counter for `key` is kept.
    pub fn contains(&self, key: &str) -> bool {
        self.lock().contains(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Window>> {
        // A panic elsewhere cannot leave a counter half-written.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reserve_at(&self, limits: &[Limit], now: Instant) -> Option<Duration> {
        let mut windows = self.lock();
        let wait = limits
            .iter()
            .filter_map(|limit| {
                let window = windows.peek(&limit.key)?;
                (window.ends > now && window.count >= limit.max).then(|| window.ends - now)
            })
            .max();
        if wait.is_some() {
            return wait;
        }
        for limit in limits {
            let fresh = Window { ends: now + limit.window, count: 0 };
            let window = windows.get_or_insert_mut(limit.key.clone(), || fresh);
            if window.ends <= now {
                *window = fresh;
            }
            window.count += 1;
        }
        None
    }

    fn release_at(&self, keys: &[String], now: Instant) {
        let mut windows = self.lock();
        for key in keys {
            let Some(window) = windows.peek_mut(key) else { continue };
            if window.ends <= now || window.count <= 1 {
                windows.pop(key);
            } else {
                window.count -= 1;
            }
        }
    }
}

#[async_trait]
impl CounterStore for MemoryCounterStore {
    async fn reserve(&self, limits: &[Limit]) -> Result<Option<Duration>, AppError> {
        Ok(self.reserve_at(limits, Instant::now()))
    }

    async fn release(&self, keys: &[String]) -> Result<(), AppError> {
        self.release_at(keys, Instant::now());
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// KEYS: the counters; ARGV: each counter's max and window (ms), in turn.
/// Answers 0 after counting, or the milliseconds to wait.
const RESERVE_SCRIPT: &str = r"
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      -- A counter without an expiry would block for ever: give it one.
      ttl = tonumber(ARGV[2 * i])
      redis.call('PEXPIRE', key, ttl)
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 or redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ARGV[2 * i])
  end
end
return 0
";

/// KEYS: the counters to take one from. A counter that has expired is not
/// recreated (DECR on a missing key would make one with no expiry).
const RELEASE_SCRIPT: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    if redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
  end
end
return 0
";

/// Counters in Redis, shared by every instance that uses it. If Redis is
/// unreachable, attempts fail closed with 503, as the token blocklist does.
pub struct RedisCounterStore {
    redis: LazyRedis,
}

impl RedisCounterStore {
    /// # Errors
    /// An unparseable URL. Reachability is checked on use, not here.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self { redis: LazyRedis::new(url, "throttled attempts")? })
    }

    /// `EVAL` rather than `EVALSHA`: Redis caches the compiled script by
    /// its digest either way, and the `script` feature is not needed.
    fn eval(script: &str, keys: impl ExactSizeIterator<Item = String>) -> redis::Cmd {
        let mut command = redis::cmd("EVAL");
        command.arg(script).arg(keys.len());
        for key in keys {
            command.arg(format!("{REDIS_PREFIX}{key}"));
        }
        command
    }
}

#[async_trait]
impl CounterStore for RedisCounterStore {
    async fn reserve(&self, limits: &[Limit]) -> Result<Option<Duration>, AppError> {
        if limits.is_empty() {
            return Ok(None);
        }
        let mut command = Self::eval(RESERVE_SCRIPT, limits.iter().map(|limit| limit.key.clone()));
        for limit in limits {
            let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX).max(1);
            command.arg(limit.max).arg(window_ms);
        }
        let mut connection = self.redis.connection().await?;
        let wait_ms: u64 =
            command.query_async(&mut connection).await.map_err(|e| self.redis.unavailable(e))?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }

    async fn release(&self, keys: &[String]) -> Result<(), AppError> {
        if keys.is_empty() {
            return Ok(());
        }
        let command = Self::eval(RELEASE_SCRIPT, keys.iter().cloned());
        let mut connection = self.redis.connection().await?;
        command.query_async::<()>(&mut connection).await.map_err(|e| self.redis.unavailable(e))
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// A login attempt's place in the counters, given back if it succeeds.
#[must_use = "a successful login releases its reservation"]
pub struct Reservation {
    keys: Vec<String>,
}

/// The login and sign-up limits over one counter store.
pub struct Throttle {
    store: Arc<dyn CounterStore>,
    login_max_per_email: u32,
    login_max_per_address: u32,
    signup_max_per_address: u32,
}

impl Throttle {
    /// `signup_max_per_address` 0 turns the sign-up limit off.
    pub fn new(
        store: Arc<dyn CounterStore>,
        login_max_per_email: u32,
        login_max_per_address: u32,
        signup_max_per_address: u32,
    ) -> Self {
        Self { store, login_max_per_email, login_max_per_address, signup_max_per_address }
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Counts a login attempt before its password is checked. `email` is
    /// the output of [`normalized_email`]: without one, only the address
    /// is counted.
    ///
    /// # Errors
    /// `RateLimited` while the email or the address is at its limit
    /// (nothing counted then); `ServiceUnavailable` if Redis is away.
    pub async fn reserve_login(
        &self,
        email: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Reservation, AppError> {
        let mut limits = Vec::with_capacity(2);
        if let Some(email) = email {
            limits.push(Limit { key: email_key(email), max: self.login_max_per_email, window: LOGIN_WINDOW });
        }
        if let Some(address) = client {
            limits.push(Limit {
                key: format!("login:addr:{}", address_part(address)),
                max: self.login_max_per_address,
                window: LOGIN_WINDOW,
            });
        }
        self.reserve(&limits).await?;
        Ok(Reservation { keys: limits.into_iter().map(|limit| limit.key).collect() })
    }

    /// Gives a login attempt's counts back (the password was right, or it
    /// was never checked). Failing to is logged, not raised: the attempt
    /// then stays counted, which errs on the safe side.
    pub async fn release(&self, reservation: Reservation) {
        if let Err(error) = self.store.release(&reservation.keys).await {
            tracing::warn!(code = error.code(), "could not release a login reservation");
        }
    }

    /// Counts a sign-up attempt for the client's address.
    ///
    /// # Errors
    /// `RateLimited` once the address has used its hourly sign-ups;
    /// `ServiceUnavailable` if Redis is away.
    pub async fn reserve_signup(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        let (Some(address), max @ 1..) = (client, self.signup_max_per_address) else {
            return Ok(());
        };
        let key = format!("signup:addr:{}", address_part(address));
        self.reserve(&[Limit { key, max, window: SIGNUP_WINDOW }]).await
    }

    async fn reserve(&self, limits: &[Limit]) -> Result<(), AppError> {
        if limits.is_empty() {
            return Ok(());
        }
        match self.store.reserve(limits).await? {
            None => Ok(()),
            Some(wait) => {
                // Round up, so a client that waits as told finds room.
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(AppError::RateLimited { retry_after_secs: retry_after_secs.max(1) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(key: &str, max: u32) -> Limit {
        Limit { key: key.into(), max, window: LOGIN_WINDOW }
    }

    fn store(capacity: usize) -> MemoryCounterStore {
        MemoryCounterStore::new(NonZeroUsize::new(capacity).unwrap())
    }

    #[test]
    fn a_full_counter_refuses_until_its_window_ends() {
        let store = store(10);
        let now = Instant::now();
        assert_eq!(store.reserve_at(&[limit("a", 2)], now), None);
        assert_eq!(store.reserve_at(&[limit("a", 2)], now), None);
        let wait = store.reserve_at(&[limit("a", 2)], now + Duration::from_secs(60));
        assert_eq!(wait, Some(LOGIN_WINDOW - Duration::from_secs(60)));
        assert_eq!(store.reserve_at(&[limit("b", 2)], now), None, "other keys are not affected");
        assert_eq!(store.reserve_at(&[limit("a", 2)], now + LOGIN_WINDOW), None, "the window passed");
    }

    #[test]
    fn a_refused_reservation_counts_nothing() {
        let store = store(10);
        let now = Instant::now();
        assert_eq!(store.reserve_at(&[limit("full", 1)], now), None);
        // "full" is at its limit, so "spare" is not counted either.
        assert!(store.reserve_at(&[limit("spare", 1), limit("full", 1)], now).is_some());
        assert_eq!(store.reserve_at(&[limit("spare", 1)], now), None);
    }

    #[test]
    fn releasing_gives_the_count_back_and_forgets_empty_counters() {
        let store = store(10);
        let now = Instant::now();
        assert_eq!(store.reserve_at(&[limit("a", 1)], now), None);
        store.release_at(&["a".into()], now);
        assert!(!store.contains("a"));
        assert_eq!(store.reserve_at(&[limit("a", 1)], now), None, "room again");
        store.release_at(&["never-counted".into()], now);
        assert!(!store.contains("never-counted"), "releasing never creates a counter");
    }

    #[test]
    fn the_memory_store_never_holds_more_than_its_capacity() {
        let store = store(64);
        let now = Instant::now();
        for n in 0..10_000 {
            assert_eq!(store.reserve_at(&[limit(&format!("k{n}"), 5)], now), None);
            assert!(store.len() <= 64);
        }
        assert_eq!(store.len(), 64);
        assert!(store.contains("k9999") && !store.contains("k0"), "the least recently used go first");
    }

    #[test]
    fn emails_are_normalized_and_only_addresses_become_keys() {
        assert_eq!(normalized_email("  Ada@Example.COM "), Some("ada@example.com".into()));
        assert_eq!(normalized_email("not an address"), None);
        assert_eq!(normalized_email(""), None);
        let local = "a".repeat(64);
        let long = format!("{local}@{}.example.com", vec!["b".repeat(60); 3].join("."));
        assert!(long.len() > MAX_EMAIL_BYTES && long.validate_email(), "valid, only too long");
        assert_eq!(normalized_email(&long), None);
        assert_eq!(normalized_email(&"x".repeat(1 << 20)), None);
    }

    #[tokio::test]
    async fn emails_that_are_not_addresses_count_only_the_client() {
        let store = Arc::new(store(10));
        let throttle = Throttle::new(store.clone(), 5, 100, 20);
        let client = Some("192.0.2.1".parse().unwrap());
        for raw in ["not an address", &"y".repeat(300), "a@b.c@d"] {
            let _ = throttle.reserve_login(normalized_email(raw).as_deref(), client).await.unwrap();
        }
        assert_eq!(store.len(), 1, "only the address is counted");
        assert!(store.contains("login:addr:192.0.2.1"));
        let email = normalized_email("Ada@example.com").unwrap();
        let reservation = throttle.reserve_login(Some(&email), client).await.unwrap();
        assert!(store.contains(&email_key("ada@example.com")));
        assert!(!email_key("ada@example.com").contains("ada"), "the key holds a digest, not the address");
        throttle.release(reservation).await;
        assert!(!store.contains(&email_key("ada@example.com")));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_part(a), address_part(b));
        assert_ne!(address_part(a), address_part(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_part(mapped), "192.0.2.7");
    }

    #[tokio::test]
    async fn signups_are_counted_per_address_and_zero_is_off() {
        let client = Some("192.0.2.9".parse().unwrap());
        let throttle = Throttle::new(Arc::new(store(10)), 5, 100, 2);
        assert!(throttle.reserve_signup(client).await.is_ok());
        assert!(throttle.reserve_signup(client).await.is_ok());
        let Err(AppError::RateLimited { retry_after_secs }) = throttle.reserve_signup(client).await else {
            panic!("not limited")
        };
        assert!((3500..=3600).contains(&retry_after_secs), "{retry_after_secs}");
        assert!(throttle.reserve_signup(None).await.is_ok(), "no address, nothing to count");
        let off = Throttle::new(Arc::new(store(10)), 5, 100, 0);
        for _ in 0..50 {
            assert!(off.reserve_signup(client).await.is_ok());
        }
    }
}
