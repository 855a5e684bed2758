//! Composing and sending the emails of a settled mission: one per backer (their pledges summed,
//! in their locale) and one summary to the streamer.
//!
//! The texts, in Korean and English, are in [`texts`]; this module sends them.
//!
//! Transports: `file` writes one RFC 5322 `.eml` file per message (named after the mission, the
//! role and the recipient, so a retry rewrites the same file instead of adding one); `ses`
//! sends the same document through Amazon SES v2 (raw), no faster than the configured rate.
//! Either way a message is text and HTML, its text readable in the file ([`mime`]).

use anyhow::Context;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use missionlink_identity::input::deliverable;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

mod account;
mod korean;
mod mime;
mod notice_texts;
mod receipt;
mod reconciliation_notice;
mod texts;
mod topup_receipt;
mod webhook_notice;
pub use account::{account_email, address_changed_notice};
pub use notice_texts::{accepted_message, verifying_message};
pub use receipt::{ReceiptFacts, kst, payout_receipt};
pub use reconciliation_notice::{NoticeFacts, reconciliation_notice};
pub use texts::{Locale, MissionFacts, backer_message, streamer_message, when, won};
pub use topup_receipt::{TopUpReceiptFacts, topup_receipt};
pub use webhook_notice::{WebhookNoticeFacts, webhook_notice};

/// One message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// Stable identity of the message (`<mission>-<role>-<recipient>`), used as the file name
    /// and the Message-ID, so a retried send does not create a second file.
    pub key: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The URLs in `text` that the system put there (a mission's page, an account link, the
    /// streamer's checked evidence link): the HTML part makes these clickable and nothing else,
    /// so a link written into a title or a name stays text.
    pub links: Vec<String>,
}

/// Why a message did not go.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The recipient's address is refused for good (it does not parse, or the provider rejected
    /// it): retrying cannot help, the delivery is recorded as failed.
    #[error("recipient refused: {0}")]
    Rejected(String),
    /// Anything else (the provider down, throttling, a timeout, a full disk): a later attempt
    /// may succeed.
    #[error("{0:#}")]
    Transient(anyhow::Error),
    /// Not sent: the attempt was cancelled while the message waited for its turn.
    #[error("not sent: the attempt was cancelled")]
    Cancelled,
}

/// How messages leave.
pub enum Transport {
    File { dir: PathBuf },
    Ses { client: aws_sdk_sesv2::Client },
}

/// A transport, the sender address, and a limit on messages per second (SES only).
pub struct Mailer {
    transport: Transport,
    from: String,
    min_interval: Option<Duration>,
    next_slot: Mutex<Instant>,
    send_timeout: Duration,
}

/// How long one SES request may take before it counts as failed (and is retried by a later
/// attempt), unless the configuration says otherwise.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(120);

impl Mailer {
    /// Writes `.eml` files into `dir`.
    pub fn file(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self::new(Transport::File { dir: dir.into() }, from.into(), None)
    }

    /// Sends through SES v2 with the AWS SDK's own configuration (region, credentials,
    /// `AWS_ENDPOINT_URL_SESV2`), at most `max_per_second` messages a second.
    pub async fn ses(from: impl Into<String>, max_per_second: u32) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::ses_with(&config, from, max_per_second)
    }

    /// Sends through SES v2 with an explicit AWS configuration.
    pub fn ses_with(
        config: &aws_config::SdkConfig,
        from: impl Into<String>,
        max_per_second: u32,
    ) -> Self {
        let client = aws_sdk_sesv2::Client::new(config);
        let interval = Duration::from_secs(1) / max_per_second.max(1);
        Self::new(Transport::Ses { client }, from.into(), Some(interval))
    }

    fn new(transport: Transport, from: String, min_interval: Option<Duration>) -> Self {
        Self {
            transport,
            from,
            min_interval,
            next_slot: Mutex::new(Instant::now()),
            send_timeout: DEFAULT_SEND_TIMEOUT,
        }
    }

    /// The same mailer, giving up on one SES request after `timeout`.
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Whether sending a message again replaces the first one instead of adding a second: a
    /// file is named after its message's key, so rewriting it leaves one file; an SES resend is
    /// a second email in the recipient's inbox.
    pub fn resend_replaces(&self) -> bool {
        matches!(self.transport, Transport::File { .. })
    }

    /// The least time between two sends; `None` = not limited (files).
    pub fn send_interval(&self) -> Option<Duration> {
        self.min_interval
    }

    fn transport_name(&self) -> &'static str {
        match self.transport {
            Transport::File { .. } => "file",
            Transport::Ses { .. } => "ses",
        }
    }

    /// Waits for the rate limit, then sends.
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        self.send_unless_stopped(email, &|| true).await
    }

    /// Waits for the rate limit, then sends unless `go_on` answers false by then.
    async fn send_unless_stopped(
        &self,
        email: &Email,
        go_on: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SendError> {
        let result = self.send_uncounted(email, go_on).await;
        count(self.transport_name(), &result);
        result
    }

    async fn send_uncounted(
        &self,
        email: &Email,
        go_on: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SendError> {
        if !deliverable(&email.to) {
            return Err(SendError::Rejected("not a single valid address".into()));
        }
        if let Some(interval) = self.min_interval {
            let wait_until = {
                let mut slot = self.next_slot.lock().await;
                let at = (*slot).max(Instant::now());
                *slot = at + interval;
                at
            };
            tokio::time::sleep_until(wait_until).await;
        }
        if !go_on() {
            return Err(SendError::Cancelled);
        }
        match &self.transport {
            Transport::File { dir } => write_files(dir, &self.from, vec![email.clone()])
                .await
                .into_iter()
                .next()
                .unwrap_or(Ok(())),
            Transport::Ses { client } => {
                tokio::time::timeout(self.send_timeout, send_ses(client, &self.from, email))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SendError::Transient(anyhow::anyhow!(
                            "SES did not answer within {:?}",
                            self.send_timeout
                        )))
                    })
            }
        }
    }

    /// Sends the messages and yields each one's outcome, by its index in `emails`, as soon as
    /// it is known. Files are written by one blocking task for the whole batch (a hop to the
    /// blocking pool per message would cost more than the write); SES messages go out
    /// [`SES_CONCURRENCY`] at a time, within the rate limit, and none is sent once `go_on`
    /// answers false (those already sent are answered; the rest answer `Cancelled`).
    pub fn deliver<'a>(
        &'a self,
        emails: Vec<Email>,
        go_on: impl Fn() -> bool + Send + Sync + 'a,
    ) -> futures::stream::BoxStream<'a, (usize, Result<(), SendError>)> {
        use futures::StreamExt;
        match &self.transport {
            Transport::File { dir } => {
                // Undeliverable addresses are answered without a file.
                let (valid, invalid): (Vec<_>, Vec<_>) = emails
                    .into_iter()
                    .enumerate()
                    .partition(|(_, e)| deliverable(&e.to));
                let refused = invalid.into_iter().map(|(i, _)| {
                    let result = Err(SendError::Rejected("not a single valid address".into()));
                    count("file", &result);
                    (i, result)
                });
                let written = futures::stream::once(async move {
                    let (indexes, emails): (Vec<_>, Vec<_>) = valid.into_iter().unzip();
                    let results = write_files(dir, &self.from, emails).await;
                    indexes.into_iter().zip(results).map(|(i, result)| {
                        count("file", &result);
                        (i, result)
                    })
                })
                .flat_map(futures::stream::iter);
                futures::stream::iter(refused).chain(written).boxed()
            }
            // Each send spaces and counts itself.
            Transport::Ses { .. } => {
                let go_on = std::sync::Arc::new(go_on);
                futures::stream::iter(emails.into_iter().enumerate())
                    .map(move |(i, email)| {
                        let go_on = go_on.clone();
                        async move { (i, self.send_unless_stopped(&email, &*go_on).await) }
                    })
                    .buffer_unordered(SES_CONCURRENCY)
                    .boxed()
            }
        }
    }
}

/// One message's outcome in the `missionlink_emails_*` metrics.
fn count(transport: &str, result: &Result<(), SendError>) {
    let metrics = missionlink_telemetry::metrics();
    match result {
        Ok(()) => metrics.email_sent(transport),
        Err(SendError::Rejected(_)) => metrics.email_rejected(transport),
        Err(SendError::Transient(_)) => metrics.email_failed(transport),
        Err(SendError::Cancelled) => {}
    }
}

/// Writes the messages' files on the blocking pool, one task for them all.
async fn write_files(
    dir: &std::path::Path,
    from: &str,
    emails: Vec<Email>,
) -> Vec<Result<(), SendError>> {
    let (dir, from, n) = (dir.to_owned(), from.to_owned(), emails.len());
    // The blocking thread's span joins the caller's trace.
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| write_page(&dir, &from, &emails)))
        .await
        .unwrap_or_else(|e| {
            (0..n)
                .map(|_| {
                    Err(SendError::Transient(anyhow::anyhow!(
                        "writing emails panicked: {e}"
                    )))
                })
                .collect()
        })
}

/// SES requests in flight at once.
pub const SES_CONCURRENCY: usize = 32;

#[tracing::instrument(name = "email.write_page", skip_all, fields(messages = emails.len()))]
fn write_page(dir: &std::path::Path, from: &str, emails: &[Email]) -> Vec<Result<(), SendError>> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        let message = format!("creating {}: {e}", dir.display());
        return emails
            .iter()
            .map(|_| Err(SendError::Transient(anyhow::anyhow!(message.clone()))))
            .collect();
    }
    emails
        .iter()
        .map(|email| {
            let final_path = dir.join(format!("{}.eml", email.key));
            let temp_path = dir.join(format!(".{}.eml.tmp", email.key));
            std::fs::write(&temp_path, rfc5322(from, email))
                .with_context(|| format!("writing {}", temp_path.display()))
                // Rename is atomic: a reader never sees half a message.
                .and_then(|()| {
                    std::fs::rename(&temp_path, &final_path)
                        .with_context(|| format!("renaming to {}", final_path.display()))
                })
                .map_err(SendError::Transient)
        })
        .collect()
}

#[tracing::instrument(name = "ses.SendEmail", skip_all, fields(otel.kind = "client"))]
async fn send_ses(
    client: &aws_sdk_sesv2::Client,
    from: &str,
    email: &Email,
) -> Result<(), SendError> {
    use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
    // Raw: the very document the file transport writes, text and HTML. Its one recipient is
    // its `To` header (SES sends to the header's addresses when no destination is given).
    let raw = RawMessage::builder()
        // 7-bit on the wire: what is not ASCII is quoted-printable (SES's raw messages should
        // be, and a configuration set's tracking rewrites 8-bit bodies).
        .data(Blob::new(mime::document(
            from,
            email,
            chrono::Utc::now(),
            mime::Body::SevenBit,
        )))
        .build()
        .context("building the SES raw message")
        .map_err(SendError::Transient)?;
    let sent = client
        .send_email()
        .from_email_address(from)
        .content(EmailContent::builder().raw(raw).build())
        .send()
        .await;
    let Err(e) = sent else { return Ok(()) };
    let code = e.code().unwrap_or_default().to_owned();
    let text = e.message().unwrap_or_default().to_owned();
    if recipient_refused(&code, &text, &email.to) {
        return Err(SendError::Rejected(format!("SES {code}: {text}")));
    }
    Err(SendError::Transient(anyhow::anyhow!(
        "SES SendEmail: {}",
        DisplayErrorContext(e)
    )))
}

/// Whether an SES error refuses this one recipient for good. SES answers a malformed request
/// with `BadRequestException` (moto: `InvalidParameterValue`): everything else in our request is
/// ours and checked (the sender at start-up, see [`valid_sender`]), so that is the address. A
/// recipient it will not deliver to (an unverified one in the sandbox, a suppressed one) gets
/// `MessageRejected` naming it, as a whole address. A `MessageRejected` that does not name the
/// recipient is about the sender or the account: every message would fail, so it is not one
/// recipient's fault and stays retryable (and alerts).
pub fn recipient_refused(code: &str, message: &str, recipient: &str) -> bool {
    match code {
        "BadRequestException" | "InvalidParameterValue" => true,
        "MessageRejected" => message
            .split(|c: char| c.is_whitespace() || ",;:<>\"'()[]".contains(c))
            .map(|word| word.trim_end_matches('.'))
            .any(|word| word.eq_ignore_ascii_case(recipient)),
        _ => false,
    }
}

/// Whether `from` is a usable sender: one address, optionally with a display name
/// (`MissionLink <no-reply@example.com>`). Checked at start-up, so that SES refusing a request
/// is never about our own sender.
pub fn valid_sender(from: &str) -> bool {
    use email_address::{EmailAddress, Options};
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .with_display_text();
    EmailAddress::parse_with_options(from, options).is_ok()
}

/// The message as an RFC 5322 document, text and HTML ([`mime`]), dated now, as the file
/// transport writes it: its text as written (8-bit).
pub fn rfc5322(from: &str, email: &Email) -> String {
    mime::document(from, email, chrono::Utc::now(), mime::Body::EightBit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_is_one_address_with_an_optional_name() {
        assert!(valid_sender("MissionLink <no-reply@missionlink.local>"));
        assert!(valid_sender("no-reply@missionlink.local"));
        assert!(!valid_sender("MissionLink"));
        assert!(!valid_sender("a@x.io, b@x.io"));
    }

    #[test]
    fn only_a_rejection_of_the_recipient_is_permanent() {
        assert!(recipient_refused(
            "InvalidParameterValue",
            "Missing domain",
            "a@x.io"
        ));
        assert!(recipient_refused(
            "BadRequestException",
            "Illegal address",
            "a@x.io"
        ));
        assert!(recipient_refused(
            "MessageRejected",
            "Email address is not verified: A@x.io",
            "a@x.io"
        ));
        assert!(!recipient_refused(
            "MessageRejected",
            "Email address not verified no-reply@missionlink.local",
            "a@x.io"
        ));
        assert!(!recipient_refused(
            "TooManyRequestsException",
            "slow down",
            "a@x.io"
        ));
        assert!(!recipient_refused("", "", "a@x.io"));
    }

    #[test]
    fn non_ascii_subjects_are_rfc2047_encoded_and_the_body_is_text_plain() {
        let email = Email {
            key: "m-backer-u".into(),
            to: "a@example.com".into(),
            subject: "[MissionLink] \"보스\" 미션 성공".into(),
            text: "후원하신 1,000원".into(),
            links: Vec::new(),
        };
        let raw = rfc5322("MissionLink <no-reply@missionlink.local>", &email);
        assert!(raw.contains("Subject: =?UTF-8?B?"));
        assert!(raw.contains("To: a@example.com\r\n"));
        assert!(raw.contains("Content-Type: text/plain; charset=UTF-8"));
    }
}
