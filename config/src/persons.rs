//! Verifying people (본인인증, `verifyIdentity`) and whether top-ups wait for it:
//! `IDENTITY_VERIFIER`, `PORTONE_*`, `IDENTITY_VERIFY_TIMEOUT_SECONDS`, `IDENTITY_HASH_KEY`,
//! `TOPUP_REQUIRES_IDENTITY`. Part of the identity section
//! (`missionlink_identity::persons::PersonSettings`).

use crate::var::{Env, Var};
use crate::{AppEnv, ConfigError, err};
use missionlink_identity::persons::portone::{DEFAULT_API_URL, PortOneConfig};
use missionlink_identity::persons::{HashKey, PersonSettings, VerifierChoice};

/// Shortest accepted `IDENTITY_HASH_KEY`, in bytes.
pub const MIN_HASH_KEY_BYTES: usize = 32;

/// The sandbox believes any well-formed id: refused in production, see
/// [`crate::Config::validate`].
pub const IDENTITY_VERIFIER: Var = Var::by_env(
    "IDENTITY_VERIFIER",
    "sandbox",
    "portone",
    "who reads `verifyIdentity`'s certification ids: `portone` (PortOne's v1 certifications \
     API; without `PORTONE_IMP_KEY` and `PORTONE_IMP_SECRET` it answers \
     `IDENTITY_VERIFIER_NOT_CONFIGURED`) or `sandbox` (certifies \
     `sandbox:<name>:<YYYY-MM-DD>:<person>`; refused at start-up when `APP_ENV=production`)",
);

/// https in production (or a loopback address): see [`crate::Config::validate`].
pub const PORTONE_API_URL: Var = Var::text(
    "PORTONE_API_URL",
    DEFAULT_API_URL,
    "base URL of PortOne's v1 REST API (the tests point it at a local server); `https` when \
     `APP_ENV=production`, plain `http` only to a loopback address",
);

pub const PORTONE_IMP_KEY: Var = Var::optional(
    "PORTONE_IMP_KEY",
    "`verifyIdentity` not configured",
    "PortOne's REST API key and secret (`imp_key`, `imp_secret`, from PortOne's console); \
     the secret from a secret store",
);

pub const PORTONE_IMP_SECRET: Var = Var::optional(
    "PORTONE_IMP_SECRET",
    "`verifyIdentity` not configured",
    "PortOne's REST API key and secret (`imp_key`, `imp_secret`, from PortOne's console); \
     the secret from a secret store",
);

pub const IDENTITY_VERIFY_TIMEOUT_SECONDS: Var = Var::int(
    "IDENTITY_VERIFY_TIMEOUT_SECONDS",
    10,
    1..=60,
    "the longest wait for one call to the identity provider while `verifyIdentity` waits (1 \
     to 60); past it `IDENTITY_VERIFIER_UNAVAILABLE`",
);

/// Required in production: see [`crate::Config::validate`].
pub const IDENTITY_HASH_KEY: Var = Var::optional(
    "IDENTITY_HASH_KEY",
    "generated when `APP_ENV=dev`",
    "the HMAC-SHA256 key of the stored hash of a person's unique key (CI), at least 32 \
     bytes, from a secret store; required when `APP_ENV=production`; never change it (every \
     stored person would become unmatchable)",
);

pub const TOPUP_REQUIRES_IDENTITY: Var = Var::text(
    "TOPUP_REQUIRES_IDENTITY",
    "true",
    "`true` or `false`: whether `prepareTopUp` and `topUp` wait until the caller's identity \
     is verified (`IDENTITY_REQUIRED`); `scripts/run` sets `false`; `false` is refused at \
     start-up when `APP_ENV=production`",
);

pub const VARIABLES: &[Var] = &[
    IDENTITY_VERIFIER,
    PORTONE_API_URL,
    PORTONE_IMP_KEY,
    PORTONE_IMP_SECRET,
    IDENTITY_VERIFY_TIMEOUT_SECONDS,
    IDENTITY_HASH_KEY,
    TOPUP_REQUIRES_IDENTITY,
];

pub(crate) fn read(env: &Env) -> Result<PersonSettings, ConfigError> {
    let verifier = match env.text(&IDENTITY_VERIFIER).trim() {
        "sandbox" => VerifierChoice::Sandbox,
        "portone" => VerifierChoice::PortOne(PortOneConfig {
            api_url: env.parse(&PORTONE_API_URL, crate::var::http_url)?,
            credentials: env.set(&PORTONE_IMP_KEY).zip(env.set(&PORTONE_IMP_SECRET)),
        }),
        other => {
            return Err(err(
                IDENTITY_VERIFIER.name,
                format!("{other:?} is neither portone nor sandbox"),
            ));
        }
    };
    Ok(PersonSettings {
        verifier,
        timeout_seconds: env.int(&IDENTITY_VERIFY_TIMEOUT_SECONDS)?,
        hash_key: hash_key(env)?,
        topup_requires_identity: env.flag(&TOPUP_REQUIRES_IDENTITY)?,
    })
}

/// `IDENTITY_HASH_KEY`, at least [`MIN_HASH_KEY_BYTES`] long. Unset in dev, a random key for
/// this process (a restart forgets who is who: development only); unset in production, empty,
/// which [`crate::Config::validate`] refuses.
fn hash_key(env: &Env) -> Result<HashKey, ConfigError> {
    match env.raw(&IDENTITY_HASH_KEY).filter(|s| !s.is_empty()) {
        Some(key) if key.len() >= MIN_HASH_KEY_BYTES => Ok(HashKey::new(key.into_bytes())),
        Some(_) => Err(err(
            IDENTITY_HASH_KEY.name,
            format!("must be at least {MIN_HASH_KEY_BYTES} bytes"),
        )),
        None if env.app_env == AppEnv::Dev => {
            tracing::warn!(
                "IDENTITY_HASH_KEY is unset: using a random development key; verified people \
                 are not recognised after a restart"
            );
            let mut key = vec![0u8; MIN_HASH_KEY_BYTES];
            rand::fill(&mut key[..]);
            Ok(HashKey::new(key))
        }
        None => Ok(HashKey::new(Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{PRODUCTION, config};
    use missionlink_identity::persons::VerifierChoice;

    #[test]
    fn production_verifies_people_with_portone_only_and_a_hash_key_of_its_own() {
        let dev = config(&[]).unwrap();
        assert!(matches!(
            dev.identity.persons.verifier,
            VerifierChoice::Sandbox
        ));
        assert!(
            !dev.identity.persons.hash_key.is_empty(),
            "dev generates one"
        );
        assert!(
            dev.identity.persons.topup_requires_identity,
            "on by default"
        );

        let production = config(&PRODUCTION).unwrap();
        let VerifierChoice::PortOne(portone) = &production.identity.persons.verifier else {
            panic!("production defaults to portone");
        };
        assert_eq!(portone.api_url, "https://api.iamport.kr");
        assert!(
            portone.credentials.is_none(),
            "not configured until both are set"
        );

        let without_key: Vec<_> = PRODUCTION
            .iter()
            .copied()
            .filter(|(k, _)| *k != "IDENTITY_HASH_KEY")
            .collect();
        assert_eq!(
            config(&without_key).unwrap_err().variable,
            "IDENTITY_HASH_KEY"
        );
        let e = config(&[("IDENTITY_HASH_KEY", "short")]).unwrap_err();
        assert_eq!(e.variable, "IDENTITY_HASH_KEY");
        let mut sandbox = PRODUCTION.to_vec();
        sandbox.push(("IDENTITY_VERIFIER", "sandbox"));
        assert_eq!(config(&sandbox).unwrap_err().variable, "IDENTITY_VERIFIER");
        let mut plain = PRODUCTION.to_vec();
        plain.push(("PORTONE_API_URL", "http://api.iamport.kr"));
        assert_eq!(config(&plain).unwrap_err().variable, "PORTONE_API_URL");

        let mut configured = PRODUCTION.to_vec();
        configured.extend([("PORTONE_IMP_KEY", "key"), ("PORTONE_IMP_SECRET", "secret")]);
        let c = config(&configured).unwrap();
        let shown = format!("{:?}", c.identity);
        assert!(!shown.contains("secret\""), "Debug hides the secret");
        assert!(!shown.contains("hhhhhhhh"), "Debug hides the hash key");
        let off = config(&[("TOPUP_REQUIRES_IDENTITY", "false")]).unwrap();
        assert!(!off.identity.persons.topup_requires_identity);
        let mut off = PRODUCTION.to_vec();
        off.push(("TOPUP_REQUIRES_IDENTITY", "false"));
        assert_eq!(
            config(&off).unwrap_err().variable,
            "TOPUP_REQUIRES_IDENTITY"
        );
        let e = config(&[("IDENTITY_VERIFIER", "nice")]).unwrap_err();
        assert_eq!(e.variable, "IDENTITY_VERIFIER");
    }
}
