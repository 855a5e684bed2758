//! The development verifier (`CHANNEL_VERIFIER=sandbox`): believes any code, so `linkChannel`
//! can be tried without a CHZZK application. The code names the channel: `stella` verifies the
//! channel named `stella`, whose id is derived from it (the same code, the same channel; two
//! accounts linking the same code collide as two accounts linking one CHZZK channel would).
//! A code starting with `wrong` is refused, as a platform refuses a bad code. Refused in
//! production by the configuration.

use super::{ChannelVerifier, VerifiedChannel, VerifyError};
use crate::streamers::claim::channel_url;
use missionlink_entities::users::Platform;
use sha2::{Digest, Sha256};

/// Longest sandbox code, in characters.
pub const MAX_CODE_CHARS: usize = 64;

pub struct Sandbox;

#[async_trait::async_trait]
impl ChannelVerifier for Sandbox {
    fn platform(&self) -> Platform {
        Platform::Chzzk
    }

    async fn verify(&self, code: &str, _state: &str) -> Result<VerifiedChannel, VerifyError> {
        let code = code.trim();
        if code.is_empty()
            || code.chars().count() > MAX_CODE_CHARS
            || code.chars().any(char::is_control)
            || code.starts_with("wrong")
        {
            return Err(VerifyError::Refused("the sandbox refuses this code".into()));
        }
        // 32 hex characters, as a CHZZK channel id.
        let digest = Sha256::digest(format!("sandbox-channel:{code}").as_bytes());
        let channel_id = hex::encode(&digest[..16]);
        Ok(VerifiedChannel {
            platform: Platform::Chzzk,
            url: channel_url(Platform::Chzzk, &channel_id),
            name: code.to_owned(),
            channel_id,
        })
    }
}
