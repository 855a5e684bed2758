//! The Toss Payments client (`PAYMENT_PROVIDER=toss`), following its documented core API:
//!
//! - authentication: HTTP Basic with the secret key as user name and an empty password
//!   (`base64(secretKey + ":")`);
//! - confirm: `POST /v1/payments/confirm`, JSON `{paymentKey, orderId, amount}`, header
//!   `Idempotency-Key` (we send the order id: confirming an order again answers the first
//!   result and never takes a second payment);
//! - look-up: `GET /v1/payments/{paymentKey}`;
//! - cancel: `POST /v1/payments/{paymentKey}/cancel`, JSON `{cancelReason}` and, to cancel part
//!   of it, `cancelAmount` (without it: all that is left), header `Idempotency-Key`;
//! - answers: a Payment object (`paymentKey`, `orderId`, `status`, `totalAmount`, `balanceAmount`,
//!   `approvedAt` in ISO 8601 with offset) or an error object `{code, message}` with its HTTP
//!   status.
//!
//! Our own choices: which answers count as "try again" ([`PaymentError::Unavailable`]: no
//! answer within `PAYMENT_TIMEOUT_SECONDS`, a network error, 5xx, 429, 409 (a request under the
//! same idempotency key still in progress), and the documented temporary `PROVIDER_ERROR`) and
//! which as a refusal (every other error object). Only a refusal fails a top-up: a confirm that
//! may have taken the payment is never marked FAILED.
//!
//! Tested against a local server speaking this API (`api/tests/it/fake_toss.rs`), not Toss.

use super::{Payment, PaymentError, PaymentProvider, PaymentStatus};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

/// Where Toss Payments' API is and how to sign in to it.
#[derive(Clone, PartialEq, Eq)]
pub struct TossConfig {
    /// `TOSS_API_BASE`, e.g. `https://api.tosspayments.com`.
    pub api_base: String,
    /// `TOSS_SECRET_KEY` (`live_sk_...` / `test_sk_...`); never logged.
    pub secret_key: String,
}

impl std::fmt::Debug for TossConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossConfig")
            .field("api_base", &self.api_base)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// Toss's documented temporary error ("잠시 후 다시 시도해주세요"), though its status is 400.
const TEMPORARY: &str = "PROVIDER_ERROR";

pub struct TossPayments {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

impl TossPayments {
    pub fn new(config: &TossConfig, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", config.secret_key));
        Ok(Self {
            http,
            base: config.api_base.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {token}"),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Payment, PaymentError> {
        let response = request
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(without_url(e)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| PaymentError::Unavailable(without_url(e)))?;
        if status.is_success() {
            let p: PaymentBody = serde_json::from_str(&body).map_err(|e| {
                PaymentError::Unavailable(format!("unreadable Payment object: {e}"))
            })?;
            return p.into_payment();
        }
        let error: Option<ErrorBody> = serde_json::from_str(&body).ok();
        let transient = status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            // The same idempotency key still being processed: ask again later, never "refused".
            || status == reqwest::StatusCode::CONFLICT
            || error.as_ref().is_some_and(|e| e.code == TEMPORARY);
        match error {
            Some(e) if !transient => Err(PaymentError::Refused {
                status: status.as_u16(),
                code: e.code,
                message: e.message,
            }),
            Some(e) => Err(PaymentError::Unavailable(format!(
                "HTTP {status}: {}: {}",
                e.code, e.message
            ))),
            // No error object: not Toss's answer (a proxy's or firewall's page, a 408). Nothing
            // says the request was refused, so it may be asked again.
            None => Err(PaymentError::Unavailable(format!(
                "HTTP {status} without an error object"
            ))),
        }
    }
}

/// A reqwest error's text without the URL (which carries the payment key).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentBody {
    payment_key: String,
    order_id: String,
    status: String,
    total_amount: i64,
    /// What can still be cancelled (Toss: `balanceAmount`): the total less what was cancelled.
    balance_amount: Option<i64>,
    approved_at: Option<String>,
}

impl PaymentBody {
    fn into_payment(self) -> Result<Payment, PaymentError> {
        let status = PaymentStatus::parse(&self.status).ok_or_else(|| {
            PaymentError::Unavailable(format!("unknown payment status {}", self.status))
        })?;
        let approved_at = self
            .approved_at
            .as_deref()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc));
        let balance_amount_won = self.balance_amount.unwrap_or(match status {
            PaymentStatus::Canceled => 0,
            _ => self.total_amount,
        });
        Ok(Payment {
            payment_key: self.payment_key,
            order_id: self.order_id,
            status,
            total_amount_won: self.total_amount,
            balance_amount_won,
            approved_at,
        })
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// `payment_key` as one path segment of Toss's URL, or the refusal of a value that is not a
/// Toss payment key (`missionlink_ledger::topup::order::is_payment_key`: 1 to 200 letters,
/// digits, `-`, `_`), which is never sent. Percent-encoding alone would not do: `%2E%2E` is
/// still `..` to a URL parser (WHATWG, RFC 3986 normalisation), and `GET /v1/payments/..` is
/// `GET /v1/` with our secret key. A key outside the alphabet names no payment Toss can have, so
/// the refusal is Toss's own for an unknown payment: a confirm that cannot be looked up fails,
/// and the webhook ignores it.
fn segment(payment_key: &str) -> Result<String, PaymentError> {
    if !missionlink_ledger::topup::order::is_payment_key(payment_key) {
        return Err(not_a_key());
    }
    let encoded: String = url::form_urlencoded::byte_serialize(payment_key.as_bytes()).collect();
    // The alphabet has nothing to encode and no dot; kept as the last word on what is sent.
    debug_assert_eq!(encoded, payment_key);
    Ok(encoded)
}

fn not_a_key() -> PaymentError {
    PaymentError::Refused {
        status: 404,
        code: super::NOT_FOUND_PAYMENT.to_owned(),
        message: "not a Toss Payments payment key (1 to 200 letters, digits, - or _): not sent"
            .to_owned(),
    }
}

/// Whether `order_id` is one Toss accepts: 6 to 64 letters, digits, `-` and `_` (its documented
/// `orderId`; it is also the confirm's `Idempotency-Key` header).
fn is_order_id(order_id: &str) -> bool {
    (6..=64).contains(&order_id.len())
        && order_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[async_trait::async_trait]
impl PaymentProvider for TossPayments {
    fn name(&self) -> &'static str {
        "toss"
    }

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount_won: i64,
    ) -> Result<Payment, PaymentError> {
        if !missionlink_ledger::topup::order::is_payment_key(payment_key) || !is_order_id(order_id)
        {
            // Never sent (the ledger refuses such keys before a confirm begins; this guards the
            // rows stored before it did). Toss documents this refusal for a malformed request.
            return Err(PaymentError::Refused {
                status: 400,
                code: "INVALID_REQUEST".to_owned(),
                message: "not a Toss Payments payment key or order id: not sent".to_owned(),
            });
        }
        let body = serde_json::json!({
            "paymentKey": payment_key,
            "orderId": order_id,
            "amount": amount_won,
        });
        self.send(
            self.http
                .post(format!("{}/v1/payments/confirm", self.base))
                .header("Idempotency-Key", order_id)
                .json(&body),
        )
        .await
    }

    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.send(self.http.get(format!(
            "{}/v1/payments/{}",
            self.base,
            segment(payment_key)?
        )))
        .await
    }

    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        idempotency_key: &str,
        amount_won: Option<i64>,
    ) -> Result<Payment, PaymentError> {
        let mut body = serde_json::json!({ "cancelReason": reason });
        if let Some(amount) = amount_won {
            body["cancelAmount"] = amount.into();
        }
        self.send(
            self.http
                .post(format!(
                    "{}/v1/payments/{}/cancel",
                    self.base,
                    segment(payment_key)?
                ))
                .header("Idempotency-Key", idempotency_key)
                .json(&body),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_toss_keys_become_path_segments() {
        assert_eq!(
            segment("tgen_20261126abcDEF-12").ok().as_deref(),
            Some("tgen_20261126abcDEF-12")
        );
        for bad in [
            "",
            ".",
            "..",
            "%2e%2e",
            "a/b",
            "a?b",
            "a#b",
            "a b",
            "키",
            &"k".repeat(201),
        ] {
            assert!(
                matches!(segment(bad), Err(PaymentError::Refused { ref code, .. }) if code == super::super::NOT_FOUND_PAYMENT),
                "{bad:?}"
            );
        }
        assert!(is_order_id("ml-0123456789abcdef"));
        assert!(!is_order_id("ml-1"));
        assert!(!is_order_id("ml-ab\r\nX: y"));
    }
}
