//! Verifying at once that a channel is the caller's, through its platform's OAuth API
//! (`linkChannel`, issue 25): a [`ChannelVerifier`] exchanges the code the platform's consent
//! page gave the browser for the channel it belongs to. [`chzzk::Chzzk`] speaks CHZZK's Open API
//! (`docs/chzzk-open-api.md`); [`sandbox::Sandbox`], for development, believes any code.
//!
//! Which one runs is `CHANNEL_VERIFIER` ([`VerifierChoice`]): the sandbox only where it is
//! chosen, and never in production (the configuration refuses it). CHZZK without
//! `CHZZK_CLIENT_ID` and `CHZZK_CLIENT_SECRET` answers every code with
//! [`VerifyError::NotConfigured`], so a deployment that never set it up refuses clearly.
//! No platform token is kept: it is used once, to ask who the user is, then revoked.

pub mod chzzk;
pub mod sandbox;

use missionlink_entities::users::Platform;
use std::sync::Arc;
use std::time::Duration;

/// What a platform said: the channel the code's user owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedChannel {
    pub platform: Platform,
    pub channel_id: String,
    pub name: String,
    pub url: String,
}

/// Why a code verified nothing.
#[derive(Debug)]
pub enum VerifyError {
    /// No verifier for this platform, or its credentials are not set.
    NotConfigured(String),
    /// The platform refused the code (wrong, expired, used, or for another application): what
    /// it said, for the log.
    Refused(String),
    /// The platform did not answer usably (down, slow past the timeout, an answer we cannot
    /// read): trying again later may work.
    Unavailable(anyhow::Error),
}

/// A platform's OAuth API.
#[async_trait::async_trait]
pub trait ChannelVerifier: Send + Sync {
    /// The platform it verifies.
    fn platform(&self) -> Platform;

    /// The channel of the user who consented and was sent back with `code` (and `state`, as it
    /// came back).
    async fn verify(&self, code: &str, state: &str) -> Result<VerifiedChannel, VerifyError>;
}

/// `CHANNEL_VERIFIER`: who verifies `linkChannel`'s codes.
#[derive(Clone)]
pub enum VerifierChoice {
    /// Believes any code (development only).
    Sandbox,
    Chzzk(chzzk::ChzzkConfig),
}

impl std::fmt::Debug for VerifierChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifierChoice::Sandbox => f.write_str("Sandbox"),
            VerifierChoice::Chzzk(c) => f.debug_tuple("Chzzk").field(c).finish(),
        }
    }
}

/// The channel-verification settings.
#[derive(Clone, Debug)]
pub struct ChannelSettings {
    pub verifier: VerifierChoice,
    /// `CHANNEL_VERIFY_TIMEOUT_SECONDS`: the longest wait for one call to the platform.
    pub timeout_seconds: u64,
    /// `STREAMER_REQUESTS_MAX_PER_USER` applications and channel links one user may ask for per
    /// `STREAMER_REQUESTS_WINDOW_SECONDS`.
    pub requests_max_per_user: i64,
    pub requests_window_seconds: i64,
}

impl ChannelSettings {
    /// The verifier these settings choose.
    pub fn verifier(&self) -> anyhow::Result<Arc<dyn ChannelVerifier>> {
        Ok(match &self.verifier {
            VerifierChoice::Sandbox => Arc::new(sandbox::Sandbox),
            VerifierChoice::Chzzk(config) => Arc::new(chzzk::Chzzk::new(
                config.clone(),
                Duration::from_secs(self.timeout_seconds),
            )?),
        })
    }
}
