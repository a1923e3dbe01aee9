//! Token issue and verification (docs/API.md §2). HS256 only, pinned: the
//! algorithm in a token's header is never trusted to choose the check.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::error::AppError;

pub const ISSUER: &str = "storegate";
pub const AUDIENCE: &str = "storegate-api";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The claims of every token storegate issues. `jti` is required by the type
/// itself: a token without one does not deserialize and is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub iss: String,
    pub aud: String,
    pub token_type: TokenKind,
    pub fresh: bool,
    pub roles: Vec<String>,
}

pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenService {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// # Errors
    /// Internal error if encoding fails (a bug: the key and claims are ours).
    pub fn issue(
        &self,
        user_id: i32,
        roles: Vec<String>,
        kind: TokenKind,
        fresh: bool,
    ) -> Result<IssuedToken, AppError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: Uuid::new_v4(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            token_type: kind,
            fresh: fresh && kind == TokenKind::Access,
            roles,
        };
        let token =
            encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::internal)?;
        Ok(IssuedToken { token, claims })
    }

    /// Verifies signature, algorithm, `iss`, `aud`, `exp`, `nbf`, the
    /// presence of `sub` and `jti`, and the token kind.
    ///
    /// # Errors
    /// `Unauthenticated` (token refused) for any failure; the message says
    /// which check failed but never echoes the token.
    pub fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, AppError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            AppError::invalid_token(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidIssuer => "the token was issued by someone else",
                ErrorKind::InvalidAudience => "the token is meant for another audience",
                ErrorKind::InvalidAlgorithm => {
                    "the token is signed with an algorithm this server does not accept"
                }
                ErrorKind::InvalidSignature => "the token signature is invalid",
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => "the token lacks required claims",
                _ => "the token is malformed",
            })
        })?;
        let claims = data.claims;
        if claims.token_type != expected {
            return Err(AppError::invalid_token(match expected {
                TokenKind::Access => "a refresh token cannot be used as an access token",
                TokenKind::Refresh => "an access token cannot be used as a refresh token",
            }));
        }
        if claims.sub.parse::<i32>().is_err() {
            return Err(AppError::invalid_token("the token subject is invalid"));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(&[7u8; 32], Duration::from_secs(60), Duration::from_secs(600))
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let tokens = service();
        let issued = tokens.issue(42, vec!["user".into()], TokenKind::Access, true).unwrap();
        let claims = tokens.verify(&issued.token, TokenKind::Access).unwrap();
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.sub, "42");
        assert!(claims.fresh);
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn refresh_tokens_are_never_fresh_and_never_access_tokens() {
        let tokens = service();
        let refresh = tokens.issue(1, vec![], TokenKind::Refresh, true).unwrap();
        assert!(!refresh.claims.fresh);
        assert!(tokens.verify(&refresh.token, TokenKind::Access).is_err());
        assert!(tokens.verify(&refresh.token, TokenKind::Refresh).is_ok());
    }
}
