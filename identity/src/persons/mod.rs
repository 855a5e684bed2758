//! Verified people (본인인증, issue 26, item 1): an [`IdentityVerifier`] reads what an identity
//! provider certified for a certification id the client got from the provider's widget (a
//! mobile-carrier check): whether it is certified, the name, the birth date and the person's
//! unique key (CI, the same for one person across every site and account).
//! [`portone::PortOne`] speaks PortOne's v1 REST API (`/users/getToken`, then
//! `/certifications/{imp_uid}`); [`sandbox::Sandbox`], for development, believes a
//! certification id that spells out the person.
//!
//! Which one runs is `IDENTITY_VERIFIER` ([`VerifierChoice`]): the sandbox only where it is
//! chosen, and never in production (the configuration refuses it). PortOne without
//! `PORTONE_IMP_KEY` and `PORTONE_IMP_SECRET` answers every id with
//! [`VerifyError::NotConfigured`].
//!
//! What is kept ([`verify`]): a keyed hash of the CI ([`HashKey`], HMAC-SHA256 under
//! `IDENTITY_HASH_KEY`), never the CI; the verified name and birth date, never shown through
//! the API beyond `me.identity { verifiedAt adult }`. One person, one verified account (a
//! unique constraint). The daily top-up limit counts per person through [`limit_key`], a plain
//! string the ledger keys its day totals by: nothing joins across the two databases.
//!
//! Minors (issue 26, item 2, [`guardian`]): a verified person under 19 tops up only once a
//! guardian, an adult verified through the same verifier, consented (`recordGuardianConsent`),
//! and within the minors' monthly limit, which the ledger counts under the same key.

pub mod guardian;
pub mod portone;
pub mod sandbox;
pub mod verify;

pub use crate::channels::VerifyError;
pub use verify::{
    IdentityStatus, LimitKey, holder_is_verified_name, identity_of, limit_key, verify,
};

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use missionlink_entities::users::IdentityProvider;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// What a provider certified: the person behind a certification id.
#[derive(Clone, PartialEq, Eq)]
pub struct Certified {
    pub provider: IdentityProvider,
    /// The verified name.
    pub name: String,
    pub birth_date: NaiveDate,
    /// The person's unique key (CI): hashed at once ([`HashKey::ci_hash`]), never stored.
    pub ci: String,
}

impl std::fmt::Debug for Certified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certified")
            .field("provider", &self.provider)
            .field("name", &"<redacted>")
            .field("birth_date", &"<redacted>")
            .field("ci", &"<redacted>")
            .finish()
    }
}

/// An identity provider's certification look-up.
#[async_trait::async_trait]
pub trait IdentityVerifier: Send + Sync {
    /// The provider it asks.
    fn provider(&self) -> IdentityProvider;

    /// The person `certification_id` (PortOne's `imp_uid`) certified. A certification that
    /// exists but did not complete is [`VerifyError::Refused`], as is an unknown id.
    async fn certification(&self, certification_id: &str) -> Result<Certified, VerifyError>;
}

/// `IDENTITY_VERIFIER`: who reads `verifyIdentity`'s certification ids.
#[derive(Clone)]
pub enum VerifierChoice {
    /// Believes an id that spells out the person (development only).
    Sandbox,
    PortOne(portone::PortOneConfig),
}

impl std::fmt::Debug for VerifierChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifierChoice::Sandbox => f.write_str("Sandbox"),
            VerifierChoice::PortOne(c) => f.debug_tuple("PortOne").field(c).finish(),
        }
    }
}

/// `IDENTITY_HASH_KEY`: the HMAC key of the CI's hash. Its `Debug` never shows it. Changing it
/// makes every stored hash unmatchable (a person could verify a second account), so it is kept
/// like `JWT_SECRET`, from a secret store, and never rotated without re-hashing.
#[derive(Clone)]
pub struct HashKey(Vec<u8>);

impl HashKey {
    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// Whether a key was given (production refuses an empty one).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// HMAC-SHA256 of `ci` under this key, in lowercase hex (64 characters).
    pub fn ci_hash(&self, ci: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(ci.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(<redacted>)")
    }
}

/// The identity-verification settings (`IDENTITY_*`, `PORTONE_*`, `TOPUP_REQUIRES_IDENTITY`).
#[derive(Clone, Debug)]
pub struct PersonSettings {
    pub verifier: VerifierChoice,
    /// `IDENTITY_VERIFY_TIMEOUT_SECONDS`: the longest wait for one call to the provider.
    pub timeout_seconds: u64,
    pub hash_key: HashKey,
    /// `TOPUP_REQUIRES_IDENTITY`: top-ups wait for a verified person.
    pub topup_requires_identity: bool,
}

/// What the running server does with identities, made from [`PersonSettings`].
pub struct Persons {
    pub verifier: Arc<dyn IdentityVerifier>,
    pub hash_key: HashKey,
    pub topup_requires_identity: bool,
}

impl PersonSettings {
    pub fn persons(&self) -> anyhow::Result<Persons> {
        let verifier: Arc<dyn IdentityVerifier> = match &self.verifier {
            VerifierChoice::Sandbox => Arc::new(sandbox::Sandbox),
            VerifierChoice::PortOne(config) => Arc::new(portone::PortOne::new(
                config.clone(),
                Duration::from_secs(self.timeout_seconds),
            )?),
        };
        Ok(Persons {
            verifier,
            hash_key: self.hash_key.clone(),
            topup_requires_identity: self.topup_requires_identity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::HashKey;

    #[test]
    fn the_ci_hash_is_keyed_and_never_the_ci() {
        let ci = "someone's-ci==";
        let a = HashKey::new(b"key-a".to_vec()).ci_hash(ci);
        let b = HashKey::new(b"key-b".to_vec()).ci_hash(ci);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b, "another key, another hash");
        assert_eq!(a, HashKey::new(b"key-a".to_vec()).ci_hash(ci));
        assert!(!a.contains(ci));
        assert_eq!(
            format!("{:?}", HashKey::new(b"key-a".to_vec())),
            "HashKey(<redacted>)"
        );
    }
}
