//! The bank behind payouts: a provider that moves won from the platform's account to a
//! streamer's bank account.
//!
//! The shape is that of a Korean PG's payout ("지급대행") API, as Toss Payments documents its
//! v2 payouts: the platform submits a transfer under a reference id of its own (`refPayoutId`),
//! which is also the request's idempotency key (`Idempotency-Key` header) — a second submit of
//! the same id answers the first transfer again and never pays twice; the answer to a submit is
//! only "accepted" (REQUESTED / IN_PROGRESS), and the outcome is learnt by asking for the
//! transfer's status (or a webhook) until it is COMPLETED or FAILED with a reason. A request may
//! take long (Toss advises a client timeout of at least 60 s), and a timed-out request may
//! still have been received: the caller submits again with the same id, then asks.
//!
//! The only provider today is [`sandbox::SandboxBank`] (`BANK_PROVIDER=sandbox`): no real bank
//! is connected.

pub mod sandbox;

use futures::future::BoxFuture;
use std::sync::Arc;

/// One transfer to a streamer's account.
#[derive(Clone)]
pub struct TransferRequest {
    /// Our reference id: the bank's idempotency key for this transfer.
    pub request_id: String,
    /// KFTC 3-digit bank code.
    pub bank_code: String,
    /// The full account number (never logged: `Debug` masks it).
    pub account_number: String,
    pub holder_name: String,
    /// Won to send (the payout less its fee).
    pub amount_won: i64,
}

impl std::fmt::Debug for TransferRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferRequest")
            .field("request_id", &self.request_id)
            .field("bank_code", &self.bank_code)
            .field(
                "account_number",
                &missionlink_ledger::payout::AccountNumber::parse(&self.account_number)
                    .map(|n| n.masked())
                    .unwrap_or_default(),
            )
            .field("amount_won", &self.amount_won)
            .finish_non_exhaustive()
    }
}

/// Where a transfer is, as the bank says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferStatus {
    /// Received, not finished.
    Pending,
    /// The money reached the account.
    Completed,
    /// The bank refused it (closed account, name mismatch, ...): nothing was sent.
    Failed { reason: String },
    /// It reached the receiving bank, which later sent it back (a closed or dormant account,
    /// the holder refusing it): the money is back in the platform's account.
    Returned { reason: String },
}

/// Why a call to the bank did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// No answer, or one a later attempt may change: a timeout, a network error, the bank's
    /// 5xx or rate limit. The transfer may or may not have been received; submitting again
    /// with the same request id is safe.
    #[error("bank unavailable: {0}")]
    Transient(String),
    /// The bank refused the request itself (our credentials, a malformed request, an unknown
    /// request id): the same request fails the same way every time, and someone must look.
    #[error("bank refused the request: {0}")]
    Permanent(String),
}

/// A bank (or PG) payout API.
pub trait BankProvider: Send + Sync {
    /// The provider's name, for logs.
    fn name(&self) -> &'static str;

    /// Submits the transfer; a repeat with the same `request_id` answers the same transfer.
    fn submit<'a>(
        &'a self,
        request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<TransferStatus, BankError>>;

    /// The status of the transfer submitted with `request_id`.
    fn status<'a>(
        &'a self,
        request_id: &'a str,
    ) -> BoxFuture<'a, Result<TransferStatus, BankError>>;
}

/// What the sandbox bank does with what it receives (`BANK_SANDBOX_OUTCOME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxOutcome {
    /// Completes every transfer.
    Succeed,
    /// Fails every transfer, with a reason.
    Fail,
    /// Records every transfer but never answers: the client times out, and nothing resolves
    /// until the outcome is changed (a restart with another value).
    Timeout,
}

/// Which bank the worker talks to (`BANK_PROVIDER`, `BANK_SANDBOX_OUTCOME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BankChoice {
    Sandbox(SandboxOutcome),
    /// No bank (`BANK_PROVIDER=none`): payouts are refused by the API; a payout that reaches
    /// the bank step anyway fails that step for good and stays PROCESSING, its money held.
    None,
}

impl BankChoice {
    /// The provider, keeping its books (the sandbox's) in the missions database `db`.
    pub fn connect(self, db: sea_orm::DatabaseConnection) -> Arc<dyn BankProvider> {
        match self {
            BankChoice::Sandbox(outcome) => Arc::new(sandbox::SandboxBank::new(db, outcome)),
            BankChoice::None => Arc::new(NoBank),
        }
    }
}

/// `BANK_PROVIDER=none`: refuses every call.
struct NoBank;

impl BankProvider for NoBank {
    fn name(&self) -> &'static str {
        "none"
    }

    fn submit<'a>(
        &'a self,
        _request: &'a TransferRequest,
    ) -> BoxFuture<'a, Result<TransferStatus, BankError>> {
        Box::pin(async {
            Err(BankError::Permanent(
                "no bank provider is configured".into(),
            ))
        })
    }

    fn status<'a>(
        &'a self,
        _request_id: &'a str,
    ) -> BoxFuture<'a, Result<TransferStatus, BankError>> {
        Box::pin(async {
            Err(BankError::Permanent(
                "no bank provider is configured".into(),
            ))
        })
    }
}
