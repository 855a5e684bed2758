//! Email: how messages leave (files or SES), from whom, and how fast.

use crate::var::{Env, Var};
use crate::{ConfigError, err};
use std::path::PathBuf;

pub const EMAIL_TRANSPORT: Var = Var::text(
    "EMAIL_TRANSPORT",
    "file",
    "`file` (`.eml` files) or `ses` (Amazon SES v2)",
);

pub const EMAIL_OUTBOX_DIR: Var =
    Var::text("EMAIL_OUTBOX_DIR", "data/outbox", "where `file` writes");

pub const EMAIL_FROM: Var = Var::text(
    "EMAIL_FROM",
    "MissionLink <no-reply@missionlink.local>",
    "sender: one address, optionally with a display name (checked at start-up)",
);

pub const EMAIL_MAX_PER_SECOND: Var = Var::int(
    "EMAIL_MAX_PER_SECOND",
    14,
    1..=100_000,
    "SES messages per second (set it to your SES quota); the file transport is not limited",
);

pub const EMAIL_PAGE_SIZE: Var = Var::int(
    "EMAIL_PAGE_SIZE",
    500,
    1..=10_000,
    "backers' emails prepared per page; with SES at most what `EMAIL_MAX_PER_SECOND` sends \
     in 15 s (half the heartbeat timeout)",
);

pub const EMAIL_SEND_TIMEOUT_SECONDS: Var = Var::int(
    "EMAIL_SEND_TIMEOUT_SECONDS",
    120,
    1..=3_600,
    "longest wait for one SES request; past it the message counts as failed and a later \
     attempt retries it",
);

pub const VARIABLES: &[Var] = &[
    EMAIL_TRANSPORT,
    EMAIL_OUTBOX_DIR,
    EMAIL_FROM,
    EMAIL_MAX_PER_SECOND,
    EMAIL_PAGE_SIZE,
    EMAIL_SEND_TIMEOUT_SECONDS,
];

/// How emails leave the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// One RFC 5322 `.eml` file per message in `EMAIL_OUTBOX_DIR`.
    File,
    /// Amazon SES v2, configured by the AWS SDK's own variables.
    Ses,
}

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    pub outbox_dir: PathBuf,
    pub from: String,
    /// SES sending rate limit (your account's quota).
    pub max_per_second: u32,
    /// Backers' emails prepared per page (capped further by the rate, see `delivery`).
    pub page_size: u64,
    /// Longest wait for one SES request.
    pub send_timeout_seconds: u64,
}

pub(crate) fn read(env: &Env) -> Result<EmailConfig, ConfigError> {
    let transport = match env.text(&EMAIL_TRANSPORT).as_str() {
        "file" => EmailTransport::File,
        "ses" => EmailTransport::Ses,
        other => {
            return Err(err(
                EMAIL_TRANSPORT.name,
                format!("{other:?} is not file or ses"),
            ));
        }
    };
    Ok(EmailConfig {
        transport,
        outbox_dir: PathBuf::from(env.text(&EMAIL_OUTBOX_DIR)),
        from: env.parse(&EMAIL_FROM, sender)?,
        max_per_second: env.int(&EMAIL_MAX_PER_SECOND)?,
        page_size: env.int(&EMAIL_PAGE_SIZE)?,
        send_timeout_seconds: env.int(&EMAIL_SEND_TIMEOUT_SECONDS)?,
    })
}

/// `EMAIL_FROM`, if it is one address (with an optional display name).
fn sender(from: String) -> Result<String, String> {
    if missionlink_workflows::email::valid_sender(&from) {
        Ok(from)
    } else {
        Err(format!(
            "{from:?} is not one address such as `MissionLink <no-reply@example.com>`"
        ))
    }
}
