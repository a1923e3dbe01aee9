//! Login throttling (docs/API.md §5): after `LOGIN_MAX_FAILURES` failed logins
//! for one email within 15 minutes, or 100 from one client address, login
//! answers 429 with `Retry-After` until the window passes. Successful logins
//! are not counted.
//!
//! A fixed window of *failures* rather than a token bucket (governor and
//! friends): a bucket is charged on every check and refills gradually,
//! while the contract counts only failures and blocks until the window
//! ends. The counters live in this process; each instance throttles on its
//! own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_MAX_FAILURES_PER_EMAIL: u32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 100;
/// Above this many tracked keys, expired windows are swept on insert.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

pub struct LoginThrottle {
    max_per_email: u32,
    max_per_address: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

impl LoginThrottle {
    pub fn new(max_per_email: u32, max_per_address: u32, window: Duration) -> Self {
        Self { max_per_email, max_per_address, window, windows: Mutex::new(HashMap::new()) }
    }

    fn keys(email: &str, address: Option<IpAddr>) -> [(Option<String>, bool); 2] {
        [(Some(format!("email:{email}")), true), (address.map(|a| format!("addr:{a}")), false)]
    }

    /// # Errors
    /// `RateLimited` while the email or the address is over its limit.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (key, is_email) in Self::keys(email, address) {
            let Some(key) = key else { continue };
            let limit = if is_email { self.max_per_email } else { self.max_per_address };
            if let Some(window) = windows.get(&key) {
                let elapsed = now.duration_since(window.started);
                if elapsed < self.window && window.failures >= limit {
                    let retry_after_secs = (self.window - elapsed).as_secs().max(1);
                    return Err(AppError::RateLimited { retry_after_secs });
                }
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, email: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > SWEEP_THRESHOLD {
            let window = self.window;
            windows.retain(|_, w| now.duration_since(w.started) < window);
        }
        for (key, _) in Self::keys(email, address) {
            let Some(key) = key else { continue };
            let entry = windows.entry(key).or_insert(Window { started: now, failures: 0 });
            if now.duration_since(entry.started) >= self.window {
                *entry = Window { started: now, failures: 0 };
            }
            entry.failures += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_is_blocked_after_the_limit_until_the_window_passes() {
        let throttle = LoginThrottle::new(2, 100, Duration::from_millis(200));
        let address = Some("10.0.0.1".parse().unwrap());
        assert!(throttle.check("a@x", address).is_ok());
        throttle.record_failure("a@x", address);
        throttle.record_failure("a@x", address);
        let Err(AppError::RateLimited { retry_after_secs }) = throttle.check("a@x", address) else {
            panic!("not throttled")
        };
        assert!(retry_after_secs >= 1);
        assert!(throttle.check("b@x", address).is_ok(), "other emails are not affected");
        std::thread::sleep(Duration::from_millis(250));
        assert!(throttle.check("a@x", address).is_ok(), "the window passed");
    }

    #[test]
    fn an_address_is_blocked_across_emails() {
        let throttle = LoginThrottle::new(100, 3, WINDOW);
        let address = Some("10.0.0.2".parse().unwrap());
        for n in 0..3 {
            throttle.record_failure(&format!("user{n}@x"), address);
        }
        assert!(throttle.check("fresh@x", address).is_err());
        assert!(throttle.check("fresh@x", Some("10.0.0.3".parse().unwrap())).is_ok());
    }
}
