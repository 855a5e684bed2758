//! Access tokens (HS256 JWTs, 15 minutes) and opaque refresh tokens.

use crate::error::IdentityError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use missionlink_entities::users::Role;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of an access token.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// Lifetime of a refresh token (each rotation issues a fresh one).
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// What an access token says about its bearer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    /// The user's `session_epoch` when it was issued: once the user signs out everywhere, a
    /// token with an older one no longer acts. Absent (0) in tokens issued before it existed.
    #[serde(default)]
    pub epoch: i64,
}

/// The signing and verification keys, and the one accepted algorithm.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        // Only HS256 is accepted: a token claiming `alg: none` or any other algorithm is
        // refused before its signature is even considered.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue_access(&self, user_id: &str, role: Role, epoch: i64) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            role,
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            epoch,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies signature, algorithm and expiry.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, IdentityError> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                let why = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "access token expired",
                    _ => "access token is invalid",
                };
                IdentityError::Unauthenticated(why.into())
            })
    }
}

/// A new random refresh token (256 bits) and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_with_its_own_key() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let token = keys.issue_access("u1", Role::Streamer, 0).unwrap();
        let claims = keys.verify_access(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role), ("u1", Role::Streamer));
        assert_eq!(claims.exp - claims.iat, ACCESS_TOKEN_SECONDS);
        let other = TokenKeys::new(&[8u8; 32]);
        assert!(other.verify_access(&token).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_ne!(a, hash_a);
        assert_eq!(hash_refresh_token(&a), hash_a);
    }
}
