//! Where a test worker's emails end up, and reading them back: moto's SES v2 or `.eml` files.

use serde_json::Value;

/// Where a test worker's emails end up.
pub enum Mailbox {
    /// `.eml` files in the worker's `outbox` directory.
    Files,
    /// moto's SES v2 (started by scripts/test), shared by every test of the run.
    Moto,
}

/// One email as its recipient would see it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The `text/plain` part, decoded.
    pub body: String,
    /// The `text/html` part, decoded.
    pub html: String,
    /// How the text part travelled (`8bit` or `quoted-printable`).
    pub text_encoding: String,
}

/// Whether `subject` is a backers' notice while a mission runs (accepted, or a goal reached; a
/// verdict open to objections), in either language, rather than a result email or a receipt.
pub fn is_notice(subject: &str) -> bool {
    subject.contains(" accepted \"")
        || subject.contains("reached its goal")
        || subject.contains("목표 달성")
        || subject.contains("수락했습니다")
        || subject.contains("object by")
        || subject.contains("이의 제기")
}

pub const SES_SENDER: &str = "no-reply@missionlink.local";

pub fn ses_endpoint() -> String {
    std::env::var("TEST_SES_ENDPOINT")
        .expect("TEST_SES_ENDPOINT is not set: run the tests with scripts/test")
}

/// AWS configuration pointing at moto, with the sender verified there.
pub async fn moto_ses_config() -> aws_config::SdkConfig {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(ses_endpoint())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let client = aws_sdk_sesv2::Client::new(&config);
    for identity in [SES_SENDER, "missionlink.local"] {
        client
            .create_email_identity()
            .email_identity(identity)
            .send()
            .await
            .expect("verify the sender in moto");
    }
    config
}

/// Every message moto accepted in this run (the workers send raw: the same document as a
/// file).
pub async fn moto_messages() -> Vec<Mail> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
        .await
        .expect("moto data")
        .json()
        .await
        .expect("json");
    data["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| parse_eml(m["raw_data"].as_str().expect("a raw message")))
        .collect()
}

/// Reads a message the workers wrote (an `.eml` file, or what moto got): `To`, the decoded
/// `Subject`, and the decoded text and HTML parts of its `multipart/alternative` body. Fails
/// the test on anything else: a base64 body, a missing part.
pub fn parse_eml(raw: &str) -> Mail {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").expect("headers and body");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
            .unwrap_or_default()
    };
    let subject = header("Subject");
    let subject = match subject
        .strip_prefix("=?UTF-8?B?")
        .and_then(|s| s.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(b64.decode(encoded).expect("rfc2047")).expect("utf8"),
        None => subject,
    };
    let boundary = header("Content-Type")
        .split_once("boundary=\"")
        .and_then(|(_, b)| b.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not multipart/alternative: {head}"))
        .to_owned();
    let mut text = None;
    let mut html = None;
    for part in body.split(&format!("--{boundary}")).skip(1) {
        let Some((headers, content)) = part.trim_start_matches('\n').split_once("\n\n") else {
            continue; // the closing `--`
        };
        let encoding = headers
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .expect("a transfer encoding")
            .to_owned();
        let decoded = match encoding.as_str() {
            "8bit" => content.to_owned(),
            "quoted-printable" => String::from_utf8(
                quoted_printable::decode(content, quoted_printable::ParseMode::Robust)
                    .expect("quoted-printable"),
            )
            .expect("utf8"),
            other => panic!("a part sent as {other}: {headers}"),
        };
        if headers.contains("text/plain") {
            text = Some((decoded, encoding));
        } else if headers.contains("text/html") {
            html = Some(decoded);
        }
    }
    let (body, text_encoding) = text.expect("a text/plain part");
    Mail {
        to: header("To"),
        subject,
        body,
        html: html.expect("a text/html part"),
        text_encoding,
    }
}
