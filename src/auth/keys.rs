//! The keys tokens are signed with (docs/API.md §8): the HS256 secret, or an
//! Ed25519 key pair whose public half any service can fetch as a JWK set
//! from `/.well-known/jwks.json`, beside the previous public key while a
//! rotation is under way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What tokens are signed and verified with.
#[derive(Clone)]
pub enum JwtKeys {
    /// A shared secret (`JWT_SECRET`): only storegate can verify.
    Hs256(Vec<u8>),
    /// An Ed25519 key pair (`JWT_PRIVATE_KEY_FILE`), and the previous
    /// public key during a rotation (`JWT_PREVIOUS_PUBLIC_KEY_FILE`).
    EdDsa { current: Ed25519PrivateKey, previous: Option<Ed25519PublicKey> },
}

impl std::fmt::Debug for JwtKeys {
    // Hand-written so neither the secret nor the private key reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256(_) => f.write_str("Hs256(<redacted>)"),
            Self::EdDsa { current, previous } => f
                .debug_struct("EdDsa")
                .field("current", &current.public().kid())
                .field("previous", &previous.as_ref().map(Ed25519PublicKey::kid))
                .finish(),
        }
    }
}

/// A key that is not what it should be; says what was expected, never the
/// key itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(&'static str);

/// An Ed25519 private key (wiped from memory when dropped).
#[derive(Clone)]
pub struct Ed25519PrivateKey(Box<SigningKey>);

impl Ed25519PrivateKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(Box::new(SigningKey::from_bytes(&rand::random())))
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as written by
    /// `openssl genpkey -algorithm ed25519`.
    ///
    /// # Errors
    /// The text is not an Ed25519 private key in PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map(|key| Self(Box::new(key)))
            .map_err(|_| KeyError("not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)"))
    }

    /// The key as PKCS#8 PEM.
    ///
    /// # Errors
    /// Only if encoding fails, which would be a bug.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|_| KeyError("the key could not be encoded as PEM"))
    }

    /// The key as PKCS#8 DER, the form `jsonwebtoken` signs with.
    ///
    /// # Errors
    /// Only if encoding fails, which would be a bug.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        self.0
            .to_pkcs8_der()
            .map(|der| der.as_bytes().to_vec())
            .map_err(|_| KeyError("the key could not be encoded as DER"))
    }

    pub fn public(&self) -> Ed25519PublicKey {
        Ed25519PublicKey(self.0.verifying_key().to_bytes())
    }
}

/// An Ed25519 public key: 32 bytes known to be a valid curve point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519PublicKey([u8; 32]);

impl std::fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519PublicKey({})", self.kid())
    }
}

impl Ed25519PublicKey {
    /// Reads an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as written by
    /// `openssl pkey -in key.pem -pubout`.
    ///
    /// # Errors
    /// The text is not an Ed25519 public key in PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(|key| Self(key.to_bytes()))
            .map_err(|_| KeyError("not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)"))
    }

    /// The key as SPKI PEM.
    ///
    /// # Errors
    /// Only if encoding fails, which would be a bug.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        VerifyingKey::from_bytes(&self.0)
            .ok()
            .and_then(|key| key.to_public_key_pem(LineEnding::LF).ok())
            .ok_or(KeyError("the key could not be encoded as PEM"))
    }

    /// The 32 raw bytes of the key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The JWK `x` member: the raw key, base64url without padding.
    pub fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.as_bytes())
    }

    /// The key's id: its RFC 7638 JWK thumbprint (SHA-256 over the
    /// required members in lexicographic order, base64url). Stable for a
    /// key, different for every other, and computable by anyone who has
    /// the public key.
    pub fn kid(&self) -> String {
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, self.x());
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    pub fn jwk(&self) -> Jwk {
        Jwk { kty: "OKP", crv: "Ed25519", x: self.x(), kid: self.kid(), alg: "EdDSA", usage: "sig" }
    }
}

/// One public key as a JSON Web Key (RFC 8037 for Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub usage: &'static str,
}

/// The document served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037, appendix A.1–A.3: the example key, its `x` and its
    /// thumbprint.
    const RFC8037_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        let key = Ed25519PrivateKey::from_pem(RFC8037_PRIVATE_PEM).unwrap();
        let public = key.public();
        assert_eq!(public.x(), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(public.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn keys_round_trip_through_pem() {
        let key = Ed25519PrivateKey::generate();
        let again = Ed25519PrivateKey::from_pem(&key.to_pem().unwrap()).unwrap();
        assert_eq!(again.public(), key.public());
        let public = Ed25519PublicKey::from_pem(&key.public().to_pem().unwrap()).unwrap();
        assert_eq!(public, key.public());
        assert_ne!(Ed25519PrivateKey::generate().public().kid(), key.public().kid());
    }

    #[test]
    fn other_pem_is_refused_without_echoing_it() {
        let public_pem = Ed25519PrivateKey::generate().public().to_pem().unwrap();
        let error = Ed25519PrivateKey::from_pem(&public_pem).err().unwrap().to_string();
        assert!(error.contains("PKCS#8"), "{error}");
        assert!(!error.contains("MCow"), "{error}");
        assert!(Ed25519PublicKey::from_pem(RFC8037_PRIVATE_PEM).is_err());
        assert!(Ed25519PrivateKey::from_pem("not a key").is_err());
    }

    #[test]
    fn debug_output_shows_key_ids_only() {
        let key = Ed25519PrivateKey::generate();
        let pem = key.to_pem().unwrap();
        let printed = format!("{:?}", JwtKeys::EdDsa { current: key.clone(), previous: None });
        assert!(printed.contains(&key.public().kid()));
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!printed.contains(&body));
        assert_eq!(format!("{:?}", JwtKeys::Hs256(b"secret".to_vec())), "Hs256(<redacted>)");
    }
}
