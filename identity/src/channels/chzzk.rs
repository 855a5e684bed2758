//! CHZZK's Open API (`docs/chzzk-open-api.md`): the account-interlock code is exchanged for an
//! access token (`POST /auth/v1/token`), the token tells whose channel it is
//! (`GET /open/v1/users/me`), and is then revoked (`POST /auth/v1/token/revoke`, best effort):
//! nothing of CHZZK's is kept but the channel's id and name.
//!
//! Every answer is an envelope `{code, message, content}`. What the docs leave unknown is read
//! conservatively: any status other than 2xx, or an envelope `code` other than 200, is a
//! refusal; a channel id that is not 32 lowercase hexadecimal characters is not believed.
//! Each call waits at most `CHANNEL_VERIFY_TIMEOUT_SECONDS`.

use super::{ChannelVerifier, VerifiedChannel, VerifyError};
use crate::streamers::claim::{channel_url, chzzk_id};
use anyhow::Context;
use missionlink_entities::users::Platform;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// The Open API's address when `CHZZK_API_URL` is unset.
pub const DEFAULT_API_URL: &str = "https://openapi.chzzk.naver.com";

/// Longest code accepted before asking CHZZK, in bytes.
pub const MAX_CODE_BYTES: usize = 512;

/// `CHZZK_*`. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct ChzzkConfig {
    /// `CHZZK_API_URL`, without a trailing `/`.
    pub api_url: String,
    /// `CHZZK_CLIENT_ID` and `CHZZK_CLIENT_SECRET`: `None` until both are set.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for ChzzkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChzzkConfig")
            .field("api_url", &self.api_url)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(id, _)| (id, "<redacted>")),
            )
            .finish()
    }
}

pub struct Chzzk {
    config: ChzzkConfig,
    http: reqwest::Client,
}

/// CHZZK's envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    code: Option<i64>,
    message: Option<String>,
    content: Option<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    channel_id: String,
    channel_name: String,
}

impl Chzzk {
    pub fn new(config: ChzzkConfig, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the CHZZK client")?;
        Ok(Self { config, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_url.trim_end_matches('/'))
    }

    /// The envelope's content, or a refusal naming what CHZZK said.
    async fn content<T: for<'de> Deserialize<'de>>(
        response: reqwest::Response,
        what: &str,
    ) -> Result<T, VerifyError> {
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            VerifyError::Unavailable(anyhow::Error::new(e).context(what.to_owned()))
        })?;
        let envelope: Option<Envelope<T>> = serde_json::from_slice(&body).ok();
        match envelope {
            Some(Envelope {
                code: Some(200),
                content: Some(content),
                ..
            }) if status.is_success() => Ok(content),
            // CHZZK down or throttling us says nothing of the user's code: try again later.
            _ if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                Err(VerifyError::Unavailable(anyhow::anyhow!(
                    "{what}: HTTP {status} from CHZZK"
                )))
            }
            Some(Envelope { code, message, .. }) if status.is_client_error() || code.is_some() => {
                Err(VerifyError::Refused(format!(
                    "{what}: HTTP {status}, code {code:?}, {message:?}"
                )))
            }
            _ => Err(VerifyError::Unavailable(anyhow::anyhow!(
                "{what}: HTTP {status}, an answer that is not CHZZK's envelope"
            ))),
        }
    }
}

fn unavailable(what: &'static str) -> impl Fn(reqwest::Error) -> VerifyError {
    move |e| VerifyError::Unavailable(anyhow::Error::new(e).context(what))
}

impl Chzzk {
    /// `GET /open/v1/users/me` with the user's access token.
    async fn me(&self, access_token: &str) -> Result<Me, VerifyError> {
        let response = self
            .http
            .get(self.url("/open/v1/users/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(unavailable("CHZZK users/me"))?;
        Self::content(response, "CHZZK users/me").await
    }

    /// `POST /auth/v1/token/revoke`; a failure is only logged (the token lapses within a day).
    async fn revoke(&self, client_id: &str, client_secret: &str, access_token: &str) {
        let revoked = self
            .http
            .post(self.url("/auth/v1/token/revoke"))
            .json(&json!({
                "clientId": client_id,
                "clientSecret": client_secret,
                "token": access_token,
                "tokenTypeHint": "access_token",
            }))
            .send()
            .await;
        if let Err(e) = revoked.and_then(reqwest::Response::error_for_status) {
            tracing::warn!(error = %e, "CHZZK token not revoked; it lapses within a day");
        }
    }
}

#[async_trait::async_trait]
impl ChannelVerifier for Chzzk {
    fn platform(&self) -> Platform {
        Platform::Chzzk
    }

    async fn verify(&self, code: &str, state: &str) -> Result<VerifiedChannel, VerifyError> {
        let Some((client_id, client_secret)) = &self.config.credentials else {
            return Err(VerifyError::NotConfigured(
                "CHZZK linking is not configured on this server (CHZZK_CLIENT_ID, \
                 CHZZK_CLIENT_SECRET)"
                    .into(),
            ));
        };
        if code.is_empty() || code.len() > MAX_CODE_BYTES {
            return Err(VerifyError::Refused("an empty or oversized code".into()));
        }
        let response = self
            .http
            .post(self.url("/auth/v1/token"))
            .json(&json!({
                "grantType": "authorization_code",
                "clientId": client_id,
                "clientSecret": client_secret,
                "code": code,
                "state": state,
            }))
            .send()
            .await
            .map_err(unavailable("CHZZK token exchange"))?;
        let token: Token = Self::content(response, "CHZZK token exchange").await?;

        let me = self.me(&token.access_token).await;
        // Nothing of CHZZK's is kept: the token goes back at once (best effort), whatever
        // `users/me` answered.
        self.revoke(client_id, client_secret, &token.access_token)
            .await;
        let me = me?;

        if !chzzk_id(&me.channel_id) {
            return Err(VerifyError::Unavailable(anyhow::anyhow!(
                "CHZZK users/me named a channel id that is not 32 lowercase hex characters"
            )));
        }
        let name = me.channel_name.trim();
        let name = if name.is_empty() {
            me.channel_id.clone()
        } else {
            name.chars().take(100).collect()
        };
        Ok(VerifiedChannel {
            platform: Platform::Chzzk,
            url: channel_url(Platform::Chzzk, &me.channel_id),
            channel_id: me.channel_id,
            name,
        })
    }
}
