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
    pub body: String,
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

/// Every message moto accepted in this run.
pub async fn moto_messages() -> Vec<Mail> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", ses_endpoint()))
        .await
        .expect("moto data")
        .json()
        .await
        .expect("json");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| Mail {
            to: m["destinations"]["ToAddresses"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Reads an `.eml` file the file transport wrote: `To`, the decoded `Subject` and body.
pub fn parse_eml(raw: &str) -> Mail {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers and body");
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
    let body: String = body.split_whitespace().collect();
    Mail {
        to: header("To"),
        subject,
        body: String::from_utf8(b64.decode(body).expect("base64 body")).expect("utf8"),
    }
}
