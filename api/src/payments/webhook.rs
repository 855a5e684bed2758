//! Verifying the payment provider's webhook deliveries (`POST /payments/webhook`).
//!
//! Toss Payments documents its webhook body (`{eventType, createdAt, data}`, `eventType`
//! `PAYMENT_STATUS_CHANGED` with the payment in `data`), its retries (until an HTTP 200, up to
//! 7 times over about 3 days) and, for the webhooks it signs, the headers
//! `tosspayments-webhook-transmission-time` and `tosspayments-webhook-signature: v1:<base64
//! HMAC-SHA256 of "{body}:{transmission-time}">` (several comma-separated `v1:` values while a
//! key rotates). It does not sign payment-status webhooks. A delivery that carries a signature
//! must carry a valid one (`TOSS_WEBHOOK_SECRET`), with a transmission time within
//! `PAYMENT_WEBHOOK_TOLERANCE_SECONDS` of ours, and its delivery id
//! (`tosspayments-webhook-transmission-id`) is recorded so the same delivery is handled once; a
//! delivery with neither signature nor time is taken only as a hint (`topups::webhook`).
//! Whatever a delivery says, the payment is then looked up at the provider and only that answer
//! is acted on (Toss's own advice for unsigned payment webhooks).

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "tosspayments-webhook-signature";
pub const TIME_HEADER: &str = "tosspayments-webhook-transmission-time";
pub const ID_HEADER: &str = "tosspayments-webhook-transmission-id";

/// Longest delivery id accepted.
pub const MAX_ID_CHARS: usize = 200;

/// Why a delivery was not believed (answered 401, nothing read).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("missing or malformed header {0}")]
    Header(&'static str),
    #[error("transmission time outside the tolerance window")]
    Stale,
    #[error("signature does not match")]
    Signature,
}

fn mac(secret: &[u8], body: &[u8], time: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(b":");
    mac.update(time.as_bytes());
    mac
}

/// The `tosspayments-webhook-signature` value of `body` sent at `time`.
pub fn sign(secret: &[u8], body: &[u8], time: &str) -> String {
    let tag = mac(secret, body, time).finalize().into_bytes();
    format!(
        "v1:{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

/// Checks a delivery: its time within `tolerance` of `now`, and one of its `v1:` signatures
/// the HMAC of its raw body and time (compared in constant time).
pub fn verify(
    secret: &[u8],
    signature: Option<&str>,
    time: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: chrono::Duration,
) -> Result<(), Rejected> {
    let time = time.ok_or(Rejected::Header(TIME_HEADER))?;
    let sent = DateTime::parse_from_rfc3339(time)
        .map_err(|_| Rejected::Header(TIME_HEADER))?
        .with_timezone(&Utc);
    if (now - sent).abs() > tolerance {
        return Err(Rejected::Stale);
    }
    let signature = signature.ok_or(Rejected::Header(SIGNATURE_HEADER))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let matches = signature
        .split(',')
        .filter_map(|s| s.trim().strip_prefix("v1:"))
        .filter_map(|s| b64.decode(s).ok())
        .any(|tag| mac(secret, body, time).verify_slice(&tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(Rejected::Signature)
    }
}

/// Deliveries accepted per client address: at most `max` per `window`, refilled evenly (GCRA,
/// the `governor` crate), counted in this process before anything is read or stored. A flood
/// costs no database write; behind several API processes the limit is per process.
pub struct ClientLimiter {
    limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    window_seconds: i64,
}

/// Addresses remembered before the limiter forgets those whose allowance is full again.
const REMEMBERED_CLIENTS: usize = 10_000;

impl ClientLimiter {
    /// `max` deliveries per `window_seconds` (both at least 1, as the configuration checks).
    pub fn new(max: i64, window_seconds: i64) -> Self {
        let burst = std::num::NonZeroU32::new(u32::try_from(max).unwrap_or(u32::MAX).max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let window =
            std::time::Duration::from_secs(u64::try_from(window_seconds.max(1)).unwrap_or(1));
        let quota = governor::Quota::with_period(window / burst.get())
            .unwrap_or_else(|| governor::Quota::per_second(burst))
            .allow_burst(burst);
        Self {
            limiter: governor::RateLimiter::keyed(quota),
            window_seconds,
        }
    }

    /// Counts a delivery from `client`: `Err(seconds)` to wait when over the limit.
    pub fn check(&self, client: std::net::IpAddr) -> Result<(), i64> {
        if self.limiter.len() > REMEMBERED_CLIENTS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            i64::try_from(wait.as_secs())
                .unwrap_or(self.window_seconds)
                .clamp(1, self.window_seconds.max(1))
        })
    }
}

/// A delivery's body (Toss Payments' webhook event).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_type: String,
    #[serde(default)]
    pub data: EventData,
}

/// The payment named by a `PAYMENT_STATUS_CHANGED` event.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    pub payment_key: Option<String>,
    pub order_id: Option<String>,
    pub status: Option<String>,
}

/// The event type that concerns top-ups.
pub const PAYMENT_STATUS_CHANGED: &str = "PAYMENT_STATUS_CHANGED";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_its_body_time_and_key() {
        let now = Utc::now();
        let time = now.to_rfc3339();
        let body = br#"{"eventType":"PAYMENT_STATUS_CHANGED"}"#;
        let sig = sign(b"secret", body, &time);
        let tol = chrono::Duration::seconds(300);
        assert_eq!(
            verify(b"secret", Some(&sig), Some(&time), body, now, tol),
            Ok(())
        );
        let rotated = format!("v1:AAAA, {sig}");
        assert_eq!(
            verify(b"secret", Some(&rotated), Some(&time), body, now, tol),
            Ok(())
        );
        assert_eq!(
            verify(b"other", Some(&sig), Some(&time), body, now, tol),
            Err(Rejected::Signature)
        );
        assert_eq!(
            verify(b"secret", Some(&sig), Some(&time), b"{}", now, tol),
            Err(Rejected::Signature)
        );
        let later = now + chrono::Duration::seconds(301);
        assert_eq!(
            verify(b"secret", Some(&sig), Some(&time), body, later, tol),
            Err(Rejected::Stale)
        );
        assert_eq!(
            verify(b"secret", None, Some(&time), body, now, tol),
            Err(Rejected::Header(SIGNATURE_HEADER))
        );
    }
}
