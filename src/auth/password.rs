//! argon2id password hashing (OWASP parameters: 19 MiB, 2 iterations,
//! parallelism 1 — the `argon2` crate's defaults). Hashing takes tens of
//! milliseconds of CPU, so it runs on the blocking pool, never on the async
//! runtime's workers, where it would stall every other request.
//!
//! The blocking pool alone is not enough: a login storm would still take
//! every core. At most half the cores hash at once; further logins queue
//! for a permit, so reads keep the other half.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::error::AppError;

fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new((cores / 2).max(1))
    })
}

/// # Errors
/// Internal error if hashing fails or the blocking task panics.
pub async fn hash(password: String) -> Result<String, AppError> {
    let _permit = hashing_permits().acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::internal(anyhow::anyhow!("argon2 hashing failed: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

/// Checks `password` against a PHC string. With `None` (unknown user) it
/// still spends the same work on a dummy hash, so response time does not
/// reveal which emails are registered.
///
/// # Errors
/// Internal error if the blocking task panics.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, AppError> {
    let _permit = hashing_permits().acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        known && matches
    })
    .await
    .map_err(AppError::internal)
}

/// argon2id hash (default parameters) of a random string nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3RvcmVnYXRlLWR1bW15$8Jz3CJ3VnIJCUE3yyb2y1I2EJ6xC8dGdJlKkWzKqyHU";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let phc = hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".into(), Some(phc.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
