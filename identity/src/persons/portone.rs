//! PortOne's v1 REST API (formerly I'mport, `api.iamport.kr`) for identity certifications
//! (휴대폰 본인인증): an access token from `POST /users/getToken` (JSON `{imp_key,
//! imp_secret}`), then `GET /certifications/{imp_uid}` with it, which answers `certified`,
//! `name`, `birthday` (`YYYY-MM-DD`) and `unique_key` (the CI).
//!
//! Every answer is an envelope `{code, message, response}`; `code` 0 is success. Read
//! conservatively: an unknown certification (404, or a non-zero code on the look-up) or one
//! that is not `certified` is a refusal; a token PortOne will not give (wrong credentials) or an
//! answer we cannot read is "unavailable" (logged; the client may try again, an operator must
//! look). Only a certification id of letters, digits, `_` and `-` reaches PortOne's URL. Each
//! call waits at most `IDENTITY_VERIFY_TIMEOUT_SECONDS`. The token is used once and not kept.

use super::{Certified, IdentityVerifier, VerifyError};
use anyhow::Context;
use chrono::NaiveDate;
use missionlink_entities::users::IdentityProvider;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// PortOne's v1 API when `PORTONE_API_URL` is unset.
pub const DEFAULT_API_URL: &str = "https://api.iamport.kr";

/// Longest certification id accepted before asking PortOne, in bytes.
pub const MAX_CERTIFICATION_ID_BYTES: usize = 64;

/// `PORTONE_*`. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct PortOneConfig {
    /// `PORTONE_API_URL`, without a trailing `/`.
    pub api_url: String,
    /// `PORTONE_IMP_KEY` and `PORTONE_IMP_SECRET`: `None` until both are set.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for PortOneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneConfig")
            .field("api_url", &self.api_url)
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|(key, _)| (key, "<redacted>")),
            )
            .finish()
    }
}

pub struct PortOne {
    config: PortOneConfig,
    http: reqwest::Client,
}

/// PortOne's envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    code: Option<i64>,
    message: Option<String>,
    response: Option<T>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
struct Certification {
    certified: Option<bool>,
    name: Option<String>,
    birthday: Option<String>,
    unique_key: Option<String>,
}

/// Whether `id` may be put in PortOne's URL: 1 to [`MAX_CERTIFICATION_ID_BYTES`] letters,
/// digits, `_` or `-` (PortOne's `imp_uid`s are `imp_` and digits).
pub fn is_certification_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CERTIFICATION_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn unavailable(what: &'static str) -> impl Fn(reqwest::Error) -> VerifyError {
    move |e| VerifyError::Unavailable(anyhow::Error::new(e).context(what))
}

impl PortOne {
    pub fn new(config: PortOneConfig, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the PortOne client")?;
        Ok(Self { config, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_url.trim_end_matches('/'))
    }

    /// The status and envelope of an answer, or `Unavailable` when it is not PortOne's.
    async fn envelope<T: for<'de> Deserialize<'de>>(
        response: reqwest::Response,
        what: &'static str,
    ) -> Result<(reqwest::StatusCode, Envelope<T>), VerifyError> {
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable(what))?;
        serde_json::from_slice(&body)
            .map(|envelope| (status, envelope))
            .map_err(|_| {
                VerifyError::Unavailable(anyhow::anyhow!(
                    "{what}: HTTP {status}, an answer that is not PortOne's envelope"
                ))
            })
    }

    async fn token(&self, key: &str, secret: &str) -> Result<String, VerifyError> {
        const WHAT: &str = "PortOne getToken";
        let response = self
            .http
            .post(self.url("/users/getToken"))
            .json(&json!({ "imp_key": key, "imp_secret": secret }))
            .send()
            .await
            .map_err(unavailable(WHAT))?;
        match Self::envelope::<Token>(response, WHAT).await? {
            (
                status,
                Envelope {
                    code: Some(0),
                    response: Some(token),
                    ..
                },
            ) if status.is_success() => Ok(token.access_token),
            // Our credentials, not the client's id: an operator must fix them.
            (status, Envelope { code, message, .. }) => {
                Err(VerifyError::Unavailable(anyhow::anyhow!(
                    "{WHAT} refused (PORTONE_IMP_KEY, PORTONE_IMP_SECRET?): HTTP {status}, \
                     code {code:?}, {message:?}"
                )))
            }
        }
    }
}

#[async_trait::async_trait]
impl IdentityVerifier for PortOne {
    fn provider(&self) -> IdentityProvider {
        IdentityProvider::Portone
    }

    async fn certification(&self, certification_id: &str) -> Result<Certified, VerifyError> {
        const WHAT: &str = "PortOne certifications";
        let Some((key, secret)) = &self.config.credentials else {
            return Err(VerifyError::NotConfigured(
                "identity verification is not configured on this server (PORTONE_IMP_KEY, \
                 PORTONE_IMP_SECRET)"
                    .into(),
            ));
        };
        if !is_certification_id(certification_id) {
            return Err(VerifyError::Refused(
                "a certification id that is not PortOne's".into(),
            ));
        }
        let token = self.token(key, secret).await?;
        let response = self
            .http
            .get(self.url(&format!("/certifications/{certification_id}")))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(unavailable(WHAT))?;
        let certification = match Self::envelope::<Certification>(response, WHAT).await? {
            (
                status,
                Envelope {
                    code: Some(0),
                    response: Some(c),
                    ..
                },
            ) if status.is_success() => c,
            (status, Envelope { code, message, .. })
                if status == reqwest::StatusCode::NOT_FOUND
                    || (status.is_success() && code.is_some_and(|c| c != 0)) =>
            {
                return Err(VerifyError::Refused(format!(
                    "{WHAT}: HTTP {status}, code {code:?}, {message:?}"
                )));
            }
            (status, Envelope { code, message, .. }) => {
                return Err(VerifyError::Unavailable(anyhow::anyhow!(
                    "{WHAT}: HTTP {status}, code {code:?}, {message:?}"
                )));
            }
        };
        if certification.certified != Some(true) {
            return Err(VerifyError::Refused(
                "PortOne says this certification did not complete".into(),
            ));
        }
        let unreadable = |field: &str| {
            VerifyError::Unavailable(anyhow::anyhow!(
                "{WHAT}: a certified answer without a usable `{field}`"
            ))
        };
        let ci = certification
            .unique_key
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| unreadable("unique_key"))?;
        let birth_date = certification
            .birthday
            .and_then(|b| NaiveDate::parse_from_str(b.trim(), "%Y-%m-%d").ok())
            .ok_or_else(|| unreadable("birthday"))?;
        let name = certification
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| unreadable("name"))?;
        Ok(Certified {
            provider: IdentityProvider::Portone,
            name,
            birth_date,
            ci,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_certification_id;

    #[test]
    fn only_a_plain_id_reaches_portones_url() {
        assert!(is_certification_id("imp_123456789012"));
        for bad in ["", "imp/../users", "imp 1", "imp_1?x=1", &"a".repeat(65)] {
            assert!(!is_certification_id(bad), "{bad:?}");
        }
    }
}
