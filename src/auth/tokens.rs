//! Token issue and verification (docs/API.md §2, §8). One algorithm,
//! pinned: HS256 or EdDSA as configured. A token's header never chooses
//! the check; under EdDSA its `kid` only picks which of our public keys
//! (current or previous) to verify with, and an unknown `kid` is refused.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{JwkSet, JwtKeys, KeyError};
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
    /// The session (refresh-token family) the token belongs to: every token
    /// descended from one login carries the same id, and revoking it
    /// refuses them all. Tokens issued before families existed have none;
    /// their `jti` stands in ([`Claims::family`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<Uuid>,
    /// The user's token generation at issue: a token whose generation is
    /// below the user's current one (after "log out everywhere" or a
    /// password change) is refused.
    #[serde(rename = "gen", default)]
    pub generation: i32,
}

impl Claims {
    /// The token's session: its `fam`, or its own `jti` for tokens issued
    /// before families existed.
    pub fn family(&self) -> Uuid {
        self.fam.unwrap_or(self.jti)
    }
}

/// Whom a token is for and which session it continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user_id: i32,
    pub roles: Vec<String>,
    /// A login starts a family; a refresh continues its token's.
    pub family: Uuid,
    /// The user's token generation the session was started under.
    pub generation: i32,
}

impl Grant {
    /// A new session (a login) for a user at `generation`.
    pub fn new_session(user_id: i32, roles: Vec<String>, generation: i32) -> Self {
        Self { user_id, roles, family: Uuid::new_v4(), generation }
    }
}

pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
}

pub struct TokenService {
    encoding: EncodingKey,
    /// The algorithm and, under EdDSA, the current key's `kid`.
    header: Header,
    decoding: VerifyingKeys,
    validation: Validation,
    /// The public keys to publish; `None` under HS256.
    jwks: Option<JwkSet>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// What a token's signature is checked against.
enum VerifyingKeys {
    /// The HS256 secret.
    Secret(DecodingKey),
    /// EdDSA public keys by `kid`: the current one, then the previous one.
    ByKid(Vec<(String, DecodingKey)>),
}

impl TokenService {
    /// An HS256 service with `secret`.
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self::pinned(
            Algorithm::HS256,
            EncodingKey::from_secret(secret),
            None,
            VerifyingKeys::Secret(DecodingKey::from_secret(secret)),
            None,
            access_ttl,
            refresh_ttl,
        )
    }

    /// A service signing with `keys`: HS256 as [`TokenService::new`], or
    /// EdDSA with the current key (its `kid` in every header), verifying
    /// with the current or the previous public key.
    ///
    /// # Errors
    /// Only if the private key cannot be encoded, which would be a bug.
    pub fn from_keys(keys: &JwtKeys, access_ttl: Duration, refresh_ttl: Duration) -> Result<Self, KeyError> {
        let (current, previous) = match keys {
            JwtKeys::Hs256(secret) => return Ok(Self::new(secret, access_ttl, refresh_ttl)),
            JwtKeys::EdDsa { current, previous } => (current, previous),
        };
        let public = current.public();
        let mut published = vec![public];
        published.extend(previous.iter().filter(|p| **p != public));
        let decoding =
            published.iter().map(|key| (key.kid(), DecodingKey::from_ed_der(key.as_bytes()))).collect();
        let jwks = JwkSet { keys: published.iter().map(|key| key.jwk()).collect() };
        Ok(Self::pinned(
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(&current.to_pkcs8_der()?),
            Some(public.kid()),
            VerifyingKeys::ByKid(decoding),
            Some(jwks),
            access_ttl,
            refresh_ttl,
        ))
    }

    fn pinned(
        algorithm: Algorithm,
        encoding: EncodingKey,
        kid: Option<String>,
        decoding: VerifyingKeys,
        jwks: Option<JwkSet>,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Self {
        let mut header = Header::new(algorithm);
        header.kid = kid;
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self { encoding, header, decoding, validation, jwks, access_ttl, refresh_ttl }
    }

    /// The public keys tokens are verified with, as a JWK set; `None` when
    /// tokens are signed with a shared secret (HS256).
    pub fn jwks(&self) -> Option<&JwkSet> {
        self.jwks.as_ref()
    }

    /// The key a token's signature is checked against. Under EdDSA, the
    /// token's `kid` must name one of ours; the algorithm is still checked
    /// by `decode`, against the pinned one.
    fn decoding_key(&self, token: &str) -> Result<&DecodingKey, AppError> {
        match &self.decoding {
            VerifyingKeys::Secret(key) => Ok(key),
            VerifyingKeys::ByKid(keys) => {
                let header =
                    decode_header(token).map_err(|_| AppError::invalid_token("the token is malformed"))?;
                if header.alg != Algorithm::EdDSA {
                    return Err(AppError::invalid_token(
                        "the token is signed with an algorithm this server does not accept",
                    ));
                }
                let kid = header.kid.ok_or_else(|| {
                    AppError::invalid_token("the token does not name its signing key (kid)")
                })?;
                keys.iter().find(|(known, _)| *known == kid).map(|(_, key)| key).ok_or_else(|| {
                    AppError::invalid_token("the token is signed with a key this server does not know")
                })
            }
        }
    }

    /// # Errors
    /// Internal error if encoding fails (a bug: the key and claims are ours).
    pub fn issue(&self, grant: &Grant, kind: TokenKind, fresh: bool) -> Result<IssuedToken, AppError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            sub: grant.user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: Uuid::new_v4(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            token_type: kind,
            fresh: fresh && kind == TokenKind::Access,
            roles: grant.roles.clone(),
            fam: Some(grant.family),
            generation: grant.generation,
        };
        let token = encode(&self.header, &claims, &self.encoding).map_err(AppError::internal)?;
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
        let data = decode::<Claims>(token, self.decoding_key(token)?, &self.validation).map_err(|e| {
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

    fn grant(user_id: i32) -> Grant {
        Grant::new_session(user_id, vec!["user".into()], 0)
    }

    fn service() -> TokenService {
        TokenService::new(&[7u8; 32], Duration::from_secs(60), Duration::from_secs(600))
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let tokens = service();
        let grant = Grant { generation: 3, ..grant(42) };
        let issued = tokens.issue(&grant, TokenKind::Access, true).unwrap();
        let claims = tokens.verify(&issued.token, TokenKind::Access).unwrap();
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.sub, "42");
        assert!(claims.fresh);
        assert_eq!(claims.exp - claims.iat, 60);
        assert_eq!((claims.fam, claims.generation), (Some(grant.family), 3));
    }

    #[test]
    fn tokens_without_a_family_or_generation_still_verify() {
        // As issued before sessions had families and generations.
        let tokens = service();
        let mut claims = tokens.issue(&grant(7), TokenKind::Access, true).unwrap().claims;
        claims.fam = None;
        let mut value = serde_json::to_value(&claims).unwrap();
        assert!(value.get("fam").is_none());
        value.as_object_mut().unwrap().remove("gen");
        let token =
            encode(&Header::new(Algorithm::HS256), &value, &EncodingKey::from_secret(&[7u8; 32])).unwrap();
        let verified = tokens.verify(&token, TokenKind::Access).unwrap();
        assert_eq!((verified.family(), verified.generation), (verified.jti, 0));
    }

    #[test]
    fn refresh_tokens_are_never_fresh_and_never_access_tokens() {
        let tokens = service();
        let refresh = tokens.issue(&grant(1), TokenKind::Refresh, true).unwrap();
        assert!(!refresh.claims.fresh);
        assert!(tokens.verify(&refresh.token, TokenKind::Access).is_err());
        assert!(tokens.verify(&refresh.token, TokenKind::Refresh).is_ok());
    }
}
