//! The payment provider behind top-ups (issue 15): the PG the client pays in, which the server
//! then asks to confirm (take) the payment, to look it up, and to cancel it for a withdrawal.
//!
//! The trait is shaped like Toss Payments' documented core API, the model of every
//! implementation here: confirm `POST /v1/payments/confirm` with `{paymentKey, orderId,
//! amount}` and an `Idempotency-Key`; the answer a Payment object (`status` `DONE` once taken,
//! `totalAmount`, `approvedAt`); look-up `GET /v1/payments/{paymentKey}`; cancel `POST
//! /v1/payments/{paymentKey}/cancel` with `cancelReason` and an `Idempotency-Key`; refusals an
//! error object `{code, message}` with an HTTP status.
//!
//! - [`sandbox::SandboxPayments`] (`PAYMENT_PROVIDER=sandbox`, the default in dev, refused in
//!   production): takes no money; every confirm is DONE, every cancel CANCELED.
//! - [`toss::TossPayments`] (`PAYMENT_PROVIDER=toss`): the HTTP client of that API. It is
//!   tested against a local server that speaks the documented API (`api/tests/it/fake_toss.rs`),
//!   never against Toss itself.
//!
//! Here, not in the API, because both use them: the API at confirm and cancel, the worker to
//! settle what neither a retry nor a webhook settled ([`reconcile`]). [`settle`] is what both
//! do with the provider's answer. [`expiry`] deletes the orders nobody confirmed in time.

pub mod expiry;
pub mod reconcile;
pub mod sandbox;
pub mod settle;
pub mod toss;

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Where a payment is, as the provider says (Toss Payments' `Payment.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Ready,
    InProgress,
    WaitingForDeposit,
    /// Taken: the money is the platform's.
    Done,
    Canceled,
    PartialCanceled,
    /// Approval failed.
    Aborted,
    /// Not confirmed in time (Toss: 10 minutes after the widget).
    Expired,
}

impl PaymentStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "READY" => Self::Ready,
            "IN_PROGRESS" => Self::InProgress,
            "WAITING_FOR_DEPOSIT" => Self::WaitingForDeposit,
            "DONE" => Self::Done,
            "CANCELED" => Self::Canceled,
            "PARTIAL_CANCELED" => Self::PartialCanceled,
            "ABORTED" => Self::Aborted,
            "EXPIRED" => Self::Expired,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "READY",
            Self::InProgress => "IN_PROGRESS",
            Self::WaitingForDeposit => "WAITING_FOR_DEPOSIT",
            Self::Done => "DONE",
            Self::Canceled => "CANCELED",
            Self::PartialCanceled => "PARTIAL_CANCELED",
            Self::Aborted => "ABORTED",
            Self::Expired => "EXPIRED",
        }
    }
}

/// A payment as the provider describes it (the fields of Toss Payments' Payment object we
/// read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub payment_key: String,
    pub order_id: String,
    pub status: PaymentStatus,
    pub total_amount_won: i64,
    /// What is left of it after cancels (all of it until one; 0 once cancelled whole).
    pub balance_amount_won: i64,
    pub approved_at: Option<DateTime<Utc>>,
}

/// Why a call to the provider gave no payment.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused, with its error object: the same request fails the same way (a
    /// rejected card, an unknown payment, a cancel that is not possible).
    #[error("{code}: {message} (HTTP {status})")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer, or one a later attempt may change: a timeout, a network error, a 5xx, a rate
    /// limit, Toss's `PROVIDER_ERROR`. The request may or may not have taken effect; repeating
    /// it with the same idempotency key is safe.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// Toss's answer to a confirm of a payment that was confirmed before.
pub const ALREADY_PROCESSED: &str = "ALREADY_PROCESSED_PAYMENT";
/// Toss's answer to a look-up of a payment it has no record of.
pub const NOT_FOUND_PAYMENT: &str = "NOT_FOUND_PAYMENT";
/// Toss's answer to a cancel of a payment that was cancelled before.
pub const ALREADY_CANCELED: &str = "ALREADY_CANCELED_PAYMENT";

/// A payment provider: Toss Payments' core payment API.
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// `sandbox` or `toss`, as stored in `top_ups.provider`.
    fn name(&self) -> &'static str;

    /// Takes the payment `payment_key` of order `order_id` for `amount_won`. The order id is
    /// the idempotency key: confirming again answers the first result.
    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount_won: i64,
    ) -> Result<Payment, PaymentError>;

    /// The payment as the provider has it now.
    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError>;

    /// Cancels `amount_won` of the payment (Toss: `cancelAmount`), or all that is left when
    /// `None`, once per `idempotency_key`.
    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        idempotency_key: &str,
        amount_won: Option<i64>,
    ) -> Result<Payment, PaymentError>;
}

/// Which provider `PAYMENT_PROVIDER` names, with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentChoice {
    Sandbox,
    Toss(toss::TossConfig),
}

impl PaymentChoice {
    /// The provider to call.
    pub fn connect(
        &self,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Arc<dyn PaymentProvider>> {
        Ok(match self {
            PaymentChoice::Sandbox => Arc::new(sandbox::SandboxPayments),
            PaymentChoice::Toss(config) => Arc::new(toss::TossPayments::new(config, timeout)?),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            PaymentChoice::Sandbox => "sandbox",
            PaymentChoice::Toss(_) => "toss",
        }
    }
}
