//! The payout workflow's activities. Each is idempotent: status changes are conditional
//! updates, money moves only by transfers with deterministic ids, the bank is asked with the
//! payout's request id (its idempotency key there), and the receipt is recorded once sent.

use super::payload::{BankOutcome, FinishInput, PayoutSnapshot, ReceiptResult};
use crate::bank::{BankError, BankProvider, TransferRequest, TransferStatus};
use crate::email::{Email, Mailer, ReceiptFacts, SendError, payout_receipt};
use crate::failure;
use chrono::Utc;
use missionlink_entities::missions::{payout as payout_row, payout_receipt as receipt_row};
use missionlink_ledger::LedgerError;
use missionlink_ledger::payout::{self, Outcome, banks};
use missionlink_ledger::status::{DeliveryStatus, PayoutStatus};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Every activity's name, for the failure metric's series.
pub const ACTIVITY_NAMES: [&str; 6] = [
    "LoadPayout",
    "StartPayoutProcessing",
    "SubmitToBank",
    "AwaitBank",
    "FinishPayout",
    "SendPayoutReceipt",
];

/// How often a bank call in flight heartbeats (the activity's heartbeat timeout is
/// [`super::workflow::BANK_HEARTBEAT_TIMEOUT`]): a worker that dies mid-call is noticed within
/// it and the call is retried elsewhere.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// Who operates the service, as receipts name them (`OPERATOR_NAME`, `OPERATOR_CONTACT`).
#[derive(Clone, Debug)]
pub struct Operator {
    pub name: String,
    pub contact: String,
}

/// The activities' shared resources.
pub struct PayoutActivities {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub bank: Arc<dyn BankProvider>,
    /// The client's timeout of one bank call (`BANK_TIMEOUT_SECONDS`).
    pub bank_timeout: Duration,
    pub operator: Operator,
}

fn snapshot(p: &payout_row::Model) -> PayoutSnapshot {
    PayoutSnapshot {
        status: p.status.into(),
        hold_until_unix_ms: p.hold_until.timestamp_millis(),
        streamer_id: p.streamer_id.clone(),
        held: p.status == PayoutStatus::Requested && p.held_at.is_some(),
    }
}

impl PayoutActivities {
    /// One bank call, under the client's timeout, heartbeating while it waits. A timeout is a
    /// transient error: the bank may have received the call.
    async fn call_bank<T>(
        &self,
        ctx: &ActivityContext,
        call: impl Future<Output = Result<T, BankError>>,
    ) -> Result<T, BankError> {
        let timed = tokio::time::timeout(self.bank_timeout, call);
        tokio::pin!(timed);
        let mut beat = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                answered = &mut timed => {
                    return answered.unwrap_or_else(|_| Err(BankError::Transient(format!(
                        "{} bank did not answer within {} s",
                        self.bank.name(),
                        self.bank_timeout.as_secs()
                    ))));
                }
                _ = beat.tick() => {
                    ctx.record_heartbeat(()).await.ok();
                }
            }
        }
    }
}

/// A bank error of `activity`: transient ones are retried, a refused request fails for good.
fn bank_failure(activity: &str, e: BankError) -> ActivityError {
    match e {
        BankError::Transient(_) => failure::retryable(e),
        BankError::Permanent(_) => failure::non_retryable(activity, "BankRefusedRequest", e),
    }
}

#[activities]
impl PayoutActivities {
    /// Reads the payout's status and the end of its hold.
    #[activity(name = "LoadPayout")]
    pub async fn load_payout(
        self: Arc<Self>,
        _ctx: ActivityContext,
        payout_id: String,
    ) -> Result<PayoutSnapshot, ActivityError> {
        let p = payout::find(&self.missions_db, &payout_id)
            .await
            .map_err(|e| failure::ledger("LoadPayout", e))?;
        Ok(snapshot(&p))
    }

    /// The hold is over: REQUESTED → PROCESSING, unless the streamer cancelled first. Returns
    /// the payout as it is now.
    #[activity(name = "StartPayoutProcessing")]
    pub async fn start_processing(
        self: Arc<Self>,
        _ctx: ActivityContext,
        payout_id: String,
    ) -> Result<PayoutSnapshot, ActivityError> {
        let p = payout::start_processing(&self.missions_db, &payout_id)
            .await
            .map_err(|e| failure::ledger("StartPayoutProcessing", e))?;
        Ok(snapshot(&p))
    }

    /// Hands the transfer to the bank under the payout's request id. Safe to repeat: the bank
    /// answers a repeated id with the transfer it has.
    #[activity(name = "SubmitToBank")]
    pub async fn submit_to_bank(
        self: Arc<Self>,
        ctx: ActivityContext,
        payout_id: String,
    ) -> Result<(), ActivityError> {
        let p = payout::find(&self.missions_db, &payout_id)
            .await
            .map_err(|e| failure::ledger("SubmitToBank", e))?;
        if p.status != PayoutStatus::Processing {
            return Err(failure::ledger(
                "SubmitToBank",
                LedgerError::InvalidState(format!(
                    "payout {payout_id} is {}, not PROCESSING",
                    p.status
                )),
            ));
        }
        let net = p.amount.checked_sub(p.fee).ok_or_else(|| {
            failure::ledger(
                "SubmitToBank",
                LedgerError::Corrupt(format!("payout {payout_id}'s net overflows")),
            )
        })?;
        let request = TransferRequest {
            request_id: p.bank_request_id.clone(),
            bank_code: p.bank_code.clone(),
            account_number: p.account_number.clone(),
            holder_name: p.holder_name.clone(),
            amount_won: net,
        };
        self.call_bank(&ctx, self.bank.submit(&request))
            .await
            .map(|_| ())
            .map_err(|e| bank_failure("SubmitToBank", e))
    }

    /// Asks the bank how the transfer ended. While it is pending the attempt fails retryably,
    /// so Temporal asks again with backoff (1 s doubling to 60 s) without adding to the history.
    #[activity(name = "AwaitBank")]
    pub async fn await_bank(
        self: Arc<Self>,
        ctx: ActivityContext,
        payout_id: String,
    ) -> Result<BankOutcome, ActivityError> {
        let p = payout::find(&self.missions_db, &payout_id)
            .await
            .map_err(|e| failure::ledger("AwaitBank", e))?;
        let status = self
            .call_bank(&ctx, self.bank.status(&p.bank_request_id))
            .await
            .map_err(|e| bank_failure("AwaitBank", e))?;
        match status {
            TransferStatus::Pending => Err(failure::retryable(format!(
                "payout {payout_id} is still pending at the bank"
            ))),
            // Sent, then sent back: it was paid; the return is a reconciliation case
            // (`payout::returns`).
            TransferStatus::Completed | TransferStatus::Returned { .. } => {
                Ok(BankOutcome::Completed)
            }
            TransferStatus::Failed { reason } => Ok(BankOutcome::Failed { reason }),
        }
    }

    /// PAID (the net to the world, the fee to the fee account) or FAILED (all back to
    /// earnings), exactly once by the payout's conditional update and transfer ids.
    #[activity(name = "FinishPayout")]
    pub async fn finish_payout(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: FinishInput,
    ) -> Result<PayoutSnapshot, ActivityError> {
        let outcome = match input.outcome {
            BankOutcome::Completed => Outcome::Paid,
            BankOutcome::Failed { reason } => Outcome::Failed(reason),
        };
        let (p, changed) = payout::finish(&self.missions_db, &input.payout_id, &outcome)
            .await
            .map_err(|e| failure::ledger("FinishPayout", e))?;
        if changed {
            missionlink_telemetry::metrics().payout_finished(p.status.as_str());
        }
        Ok(snapshot(&p))
    }

    /// Sends the streamer the receipt of the payout's outcome (PAID or FAILED), once: a
    /// recorded receipt is not sent again.
    #[activity(name = "SendPayoutReceipt")]
    pub async fn send_receipt(
        self: Arc<Self>,
        _ctx: ActivityContext,
        payout_id: String,
    ) -> Result<ReceiptResult, ActivityError> {
        let fail = |e| failure::ledger("SendPayoutReceipt", e);
        let p = payout::find(&self.missions_db, &payout_id)
            .await
            .map_err(fail)?;
        let (true, Some(finished_at)) = (
            matches!(p.status, PayoutStatus::Paid | PayoutStatus::Failed),
            p.finished_at,
        ) else {
            return Ok(ReceiptResult::None);
        };
        let recorded = receipt_row::Entity::find_by_id(payout_id.clone())
            .one(&self.missions_db)
            .await
            .map_err(failure::retryable)?;
        if recorded.is_some() {
            return Ok(ReceiptResult::AlreadySent);
        }
        let Some(streamer) = missionlink_identity::users::recipient(&self.users_db, &p.streamer_id)
            .await
            .map_err(failure::retryable)?
        else {
            return Ok(ReceiptResult::None);
        };
        let facts = ReceiptFacts {
            payout_id: p.id.clone(),
            paid: p.status == PayoutStatus::Paid,
            finished_at,
            amount_won: p.amount,
            fee_won: p.fee,
            bank_name: banks::bank_name(&p.bank_code)
                .unwrap_or(&p.bank_code)
                .to_owned(),
            account_masked: p.account_masked.clone(),
            holder_name: p.holder_name.clone(),
            failure_reason: p.failure_reason.clone(),
            refund: p.kind == missionlink_ledger::status::PayoutKind::CashRefund,
            operator_name: self.operator.name.clone(),
            operator_contact: self.operator.contact.clone(),
        };
        let (subject, text) = payout_receipt(&facts, streamer.locale);
        let email = Email {
            key: format!("payout-{}-{}", p.id, p.status.as_str().to_lowercase()),
            to: streamer.email.clone(),
            subject: subject.clone(),
            text,
            links: Vec::new(),
        };
        let (status, error, result) = match self.mailer.send(&email).await {
            Ok(()) => (DeliveryStatus::Sent, None, ReceiptResult::Sent),
            Err(SendError::Rejected(why)) => {
                (DeliveryStatus::Failed, Some(why), ReceiptResult::Refused)
            }
            Err(e) => return Err(failure::retryable(e)),
        };
        receipt_row::Entity::insert(receipt_row::ActiveModel {
            payout_id: Set(p.id.clone()),
            outcome: Set(p.status),
            address: Set(streamer.email),
            subject: Set(subject),
            status: Set(status),
            error: Set(error),
            sent_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&self.missions_db)
        .await
        .map_err(failure::retryable)?;
        Ok(result)
    }
}
