//! What the API and the worker do with the provider's answers about a top-up: the ledger's
//! steps (`missionlink_ledger::topup`) chosen by the provider's word. Each step is a conditional
//! update, so whoever acts first (the client's confirm, a retry, the webhook, the worker's
//! reconciliation) changes the top-up and the others change nothing.

use super::{
    ALREADY_CANCELED, ALREADY_PROCESSED, Payment, PaymentError, PaymentProvider, PaymentStatus,
};
use chrono::Utc;
use missionlink_entities::missions::top_up;
use missionlink_ledger::LedgerError;
use missionlink_ledger::topup::{order, withdraw};
use missionlink_telemetry::metrics;
use sea_orm::DatabaseConnection;

/// What became of a CONFIRMING top-up.
#[derive(Clone, Debug)]
pub enum Confirmed {
    /// Paid: CONFIRMED and credited (now or before).
    Settled(Box<top_up::Model>),
    /// The provider refused or dropped the payment: FAILED, nothing credited.
    Failed { code: String, message: String },
    /// No answer, or not finished yet: still CONFIRMING.
    Pending(String),
}

/// Asks the provider to confirm CONFIRMING top-up `t` (again: the order id is the idempotency
/// key, so a repeat takes no second payment) and acts on the answer.
pub async fn confirm(
    db: &DatabaseConnection,
    provider: &dyn PaymentProvider,
    t: &top_up::Model,
) -> Result<Confirmed, LedgerError> {
    let key = t.payment_key.clone().unwrap_or_default();
    let answer = match provider.confirm(&key, &t.order_id, t.amount).await {
        // Confirmed before (a retry after a lost answer): what is it now?
        Err(PaymentError::Refused { code, .. }) if code == ALREADY_PROCESSED => {
            provider.payment(&key).await
        }
        other => other,
    };
    match answer {
        Ok(p) => on_payment(db, t, &p).await,
        Err(PaymentError::Refused { code, message, .. }) => {
            fail(db, &t.id, &code, &message).await?;
            Ok(Confirmed::Failed { code, message })
        }
        Err(PaymentError::Unavailable(why)) => {
            metrics().topup("PENDING");
            Ok(Confirmed::Pending(why))
        }
    }
}

/// Acts on the provider's word `p` about CONFIRMING top-up `t`: credits a payment that is
/// DONE for exactly this order and amount, fails one the provider dropped, waits otherwise.
/// A DONE payment of another order or amount is never credited (`Corrupt`: someone must look).
pub async fn on_payment(
    db: &DatabaseConnection,
    t: &top_up::Model,
    p: &Payment,
) -> Result<Confirmed, LedgerError> {
    let ours = p.order_id == t.order_id && t.payment_key.as_deref() == Some(p.payment_key.as_str());
    match p.status {
        PaymentStatus::Done if ours && p.total_amount_won == t.amount => {
            let (settled, changed) = order::settle(db, &t.id, Utc::now()).await?;
            if changed {
                metrics().topup("CONFIRMED");
            }
            Ok(Confirmed::Settled(Box::new(settled)))
        }
        PaymentStatus::Done => Err(LedgerError::Corrupt(format!(
            "provider answered payment {} of order {} for {} won, expected order {} for {} won",
            p.payment_key, p.order_id, p.total_amount_won, t.order_id, t.amount
        ))),
        PaymentStatus::Aborted | PaymentStatus::Expired | PaymentStatus::Canceled => {
            let code = p.status.as_str().to_owned();
            let message = "the payment provider did not take the payment".to_owned();
            fail(db, &t.id, &code, &message).await?;
            Ok(Confirmed::Failed { code, message })
        }
        other => Ok(Confirmed::Pending(format!(
            "the payment is {} at the provider",
            other.as_str()
        ))),
    }
}

/// FAILED, counted once.
async fn fail(
    db: &DatabaseConnection,
    id: &str,
    code: &str,
    message: &str,
) -> Result<(), LedgerError> {
    let (_, changed) = order::fail(db, id, code, message).await?;
    if changed {
        metrics().topup("FAILED");
    }
    Ok(())
}

/// What became of a WITHDRAWING top-up.
#[derive(Clone, Debug)]
pub enum Cancelled {
    /// The provider cancelled the payment: WITHDRAWN (now or before).
    Withdrawn(Box<top_up::Model>),
    /// The provider refused to cancel: the won are back in the wallet, CONFIRMED.
    Refused { code: String, message: String },
    /// No answer, or not finished: still WITHDRAWING, the won out of the wallet.
    Pending(String),
}

/// Asks the provider to cancel WITHDRAWING top-up `t` (again: `withdrawal-<id>` is the
/// idempotency key, so a repeat cancels once) and acts on the answer.
pub async fn cancel(
    db: &DatabaseConnection,
    provider: &dyn PaymentProvider,
    t: &top_up::Model,
    reason: &str,
) -> Result<Cancelled, LedgerError> {
    let key = t.payment_key.clone().unwrap_or_default();
    match provider
        .cancel(&key, reason, &format!("withdrawal-{}", t.id))
        .await
    {
        Ok(p) if p.status == PaymentStatus::Canceled => finish(db, &t.id).await,
        Err(PaymentError::Refused { code, .. }) if code == ALREADY_CANCELED => {
            finish(db, &t.id).await
        }
        Ok(p) => Ok(Cancelled::Pending(format!(
            "the cancel answered {}",
            p.status.as_str()
        ))),
        Err(PaymentError::Refused { code, message, .. }) => {
            let (_, changed) = withdraw::refused(db, &t.id, &code, &message).await?;
            if changed {
                metrics().topup("WITHDRAWAL_REFUSED");
            }
            Ok(Cancelled::Refused { code, message })
        }
        Err(PaymentError::Unavailable(why)) => Ok(Cancelled::Pending(why)),
    }
}

/// WITHDRAWN, counted once.
pub async fn finish(db: &DatabaseConnection, id: &str) -> Result<Cancelled, LedgerError> {
    let (t, changed) = withdraw::finish(db, id, Utc::now()).await?;
    if changed {
        metrics().topup("WITHDRAWN");
    }
    Ok(Cancelled::Withdrawn(Box::new(t)))
}

/// The reason given to the provider for a withdrawal's cancel.
pub fn cancel_reason(withdrawal_days: i64) -> String {
    format!("청약철회 (withdrawal within {withdrawal_days} days)")
}
