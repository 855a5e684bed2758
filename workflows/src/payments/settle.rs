//! What the API and the worker do with the provider's answers about a top-up: the ledger's
//! steps (`missionlink_ledger::topup`) chosen by the provider's word. Each step is a conditional
//! update, so whoever acts first (the client's confirm, a retry, the webhook, the worker's
//! reconciliation) changes the top-up and the others change nothing.

use super::{
    ALREADY_CANCELED, NOT_FOUND_PAYMENT, Payment, PaymentError, PaymentProvider, PaymentStatus,
};
use chrono::Utc;
use missionlink_entities::missions::top_up;
use missionlink_ledger::LedgerError;
use missionlink_ledger::reconcile::cases;
use missionlink_ledger::status::{CaseKind, TopUpStatus};
use missionlink_ledger::topup::{order, webhooks, withdraw};
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
    /// The provider's word disagrees with the order (another amount, another order, or taken
    /// for a top-up that had failed): nothing credited, the top-up FAILED
    /// ([`PROVIDER_MISMATCH`]), the word kept for an operator (`payment_discrepancies`).
    Disagrees(String),
}

/// The failure code of a top-up whose payment the provider describes otherwise than the order.
pub const PROVIDER_MISMATCH: &str = "PROVIDER_MISMATCH";

/// Asks the provider to confirm CONFIRMING top-up `t` (again: the order id is the idempotency
/// key, so a repeat takes no second payment) and acts on the answer.
///
/// A refusal alone never fails a top-up: it does not say whether an earlier attempt took the
/// payment (a lost answer, a retry after a timeout, a key rotated since). The provider's own
/// record of the payment decides: still READY, or dropped (ABORTED, EXPIRED, CANCELED), or
/// unknown to the provider, and the refusal stands (FAILED); DONE, and it is credited; anything
/// else, or no record to be had, and the top-up waits (still CONFIRMING).
pub async fn confirm(
    db: &DatabaseConnection,
    provider: &dyn PaymentProvider,
    t: &top_up::Model,
) -> Result<Confirmed, LedgerError> {
    let key = t.payment_key.clone().unwrap_or_default();
    let (code, message) = match provider.confirm(&key, &t.order_id, t.amount).await {
        Ok(p) => return on_payment(db, t, &p).await,
        Err(PaymentError::Unavailable(why)) => return Ok(pending(why)),
        Err(PaymentError::Refused { code, message, .. }) => (code, message),
    };
    match provider.payment(&key).await {
        Ok(p) if p.payment_key != key => Ok(pending(format!(
            "refused ({code}), and the provider answered about another payment"
        ))),
        Ok(p) if p.order_id != t.order_id => disagree(db, t, &p).await,
        // Never taken, or dropped: the refusal stands.
        Ok(p)
            if matches!(
                p.status,
                PaymentStatus::Ready
                    | PaymentStatus::Aborted
                    | PaymentStatus::Expired
                    | PaymentStatus::Canceled
            ) =>
        {
            fail(db, &t.id, &code, &message).await?;
            Ok(Confirmed::Failed { code, message })
        }
        // Taken (ALREADY_PROCESSED after a lost answer), or still in progress.
        Ok(p) => on_payment(db, t, &p).await,
        Err(PaymentError::Refused {
            code: lookup_code, ..
        }) if lookup_code == NOT_FOUND_PAYMENT => {
            fail(db, &t.id, &code, &message).await?;
            Ok(Confirmed::Failed { code, message })
        }
        Err(e) => Ok(pending(format!(
            "refused ({code}), and the payment could not be looked up: {e}"
        ))),
    }
}

fn pending(why: String) -> Confirmed {
    metrics().topup("PENDING");
    Confirmed::Pending(why)
}

/// Whether the provider's payment `p` is the one top-up `t` was confirmed with.
fn ours(t: &top_up::Model, p: &Payment) -> bool {
    p.order_id == t.order_id && t.payment_key.as_deref() == Some(p.payment_key.as_str())
}

/// Keeps the provider's word `p` about top-up `t` for an operator (once per top-up and payment:
/// whether this call kept it), counted and logged once. A payment the provider took (DONE)
/// also becomes a reconciliation case of `kind` (once per payment), for an operator to refund
/// at the provider. Changes nothing else.
pub async fn keep_disagreement(
    db: &DatabaseConnection,
    t: &top_up::Model,
    p: &Payment,
    kind: CaseKind,
) -> Result<bool, LedgerError> {
    if p.status == PaymentStatus::Done && p.total_amount_won > 0 {
        let (case, opened) = cases::open(
            db,
            cases::NewCase {
                kind,
                subject: format!("payment:{}", p.payment_key),
                user_id: t.user_id.clone(),
                top_up_id: Some(t.id.clone()),
                payment_key: Some(p.payment_key.clone()),
                payout_id: None,
                amount: p.total_amount_won,
                detail: format!(
                    "the provider took {} won as payment {} of order {}; our order {} is for {} \
                     won and was not credited",
                    p.total_amount_won, p.payment_key, p.order_id, t.order_id, t.amount
                ),
            },
        )
        .await?;
        if opened {
            metrics().reconciliation_case(kind.as_str());
            tracing::error!(case = %case.id, kind = kind.as_str(), top_up = %t.id,
                "a reconciliation case is open: an operator must settle it");
        }
    }
    let word = webhooks::ProviderWord {
        payment_key: &p.payment_key,
        order_id: &p.order_id,
        status: p.status.as_str(),
        amount_won: p.total_amount_won,
    };
    let kept = webhooks::discrepancy(db, &t.id, &t.order_id, &word).await?;
    if kept {
        metrics().topup("DISAGREES");
        tracing::error!(top_up = %t.id, order_id = %t.order_id, payment_key = %p.payment_key,
            provider_order_id = %p.order_id, status = p.status.as_str(),
            amount = p.total_amount_won, expected = t.amount,
            "the payment provider disagrees with a top-up: an operator must settle it");
    }
    Ok(kept)
}

/// The provider's word `p` about top-up `t`'s own payment disagrees with the order: kept for an
/// operator (once per top-up and payment), and the top-up FAILED if it was still CONFIRMING, so
/// nothing is credited, the day's limit is free again, and nobody waits on it. Counted once.
pub async fn disagree(
    db: &DatabaseConnection,
    t: &top_up::Model,
    p: &Payment,
) -> Result<Confirmed, LedgerError> {
    // What the customer reads names nothing of the provider's word (it may be about another
    // order); the record and the log keep it for the operator.
    let message = "the payment provider describes this payment otherwise than your order: \
                   nothing was credited, and an operator will settle it with the provider"
        .to_owned();
    keep_disagreement(db, t, p, CaseKind::AmountMismatch).await?;
    let (_, changed) = order::fail(db, &t.id, PROVIDER_MISMATCH, &message).await?;
    if changed {
        metrics().topup("FAILED");
    }
    Ok(Confirmed::Disagrees(message))
}

/// Acts on the provider's word `p` about CONFIRMING top-up `t`: credits a payment that is
/// DONE for exactly this order and amount, fails one the provider dropped, waits otherwise.
/// A word about another payment (another widget attempt of the same order) changes nothing. A
/// word about this top-up's payment that names another order, a DONE payment of another
/// amount, and one whose top-up could no longer be settled (FAILED before) are never credited:
/// each is a [`disagree`]ment, kept for an operator.
pub async fn on_payment(
    db: &DatabaseConnection,
    t: &top_up::Model,
    p: &Payment,
) -> Result<Confirmed, LedgerError> {
    if t.payment_key.as_deref() != Some(p.payment_key.as_str()) {
        return Ok(pending(
            "the provider's word is about another payment, not this top-up's".to_owned(),
        ));
    }
    if p.order_id != t.order_id {
        return disagree(db, t, p).await;
    }
    match p.status {
        PaymentStatus::Done if p.total_amount_won == t.amount => {
            let (settled, changed) = order::settle(db, &t.id, Utc::now()).await?;
            if changed {
                metrics().topup("CONFIRMED");
            }
            // Settled before by another step (confirmed, or confirmed and then withdrawn):
            // nothing to do. FAILED before: a payment taken that nothing will credit.
            if settled.status == TopUpStatus::Failed {
                return disagree(db, &settled, p).await;
            }
            Ok(Confirmed::Settled(Box::new(settled)))
        }
        PaymentStatus::Done => disagree(db, t, p).await,
        PaymentStatus::Aborted | PaymentStatus::Expired | PaymentStatus::Canceled => {
            let code = p.status.as_str().to_owned();
            let message = "the payment provider did not take the payment".to_owned();
            fail(db, &t.id, &code, &message).await?;
            Ok(Confirmed::Failed { code, message })
        }
        other => Ok(pending(format!(
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
///
/// A refusal gives the won back only once the provider's record of the payment says it still
/// stands (DONE): a refusal after an earlier attempt that did cancel (a lost answer), or one
/// from a rotated key, must not put back won the card already got.
pub async fn cancel(
    db: &DatabaseConnection,
    provider: &dyn PaymentProvider,
    t: &top_up::Model,
    reason: &str,
) -> Result<Cancelled, LedgerError> {
    let key = t.payment_key.clone().unwrap_or_default();
    let part = (t.withdrawal_won() < t.amount).then_some(t.withdrawal_won());
    let (code, message) = match provider
        .cancel(&key, reason, &format!("withdrawal-{}", t.id), part)
        .await
    {
        Ok(p) if withdrawn_at_provider(t, &p) => return finished(db, provider, t).await,
        Err(PaymentError::Refused { code, .. }) if code == ALREADY_CANCELED => {
            return finished(db, provider, t).await;
        }
        Ok(p) => {
            return Ok(Cancelled::Pending(format!(
                "the cancel answered {}",
                p.status.as_str()
            )));
        }
        Err(PaymentError::Unavailable(why)) => return Ok(Cancelled::Pending(why)),
        Err(PaymentError::Refused { code, message, .. }) => (code, message),
    };
    match provider.payment(&key).await {
        Ok(p) if ours(t, &p) && withdrawn_at_provider(t, &p) => {
            let done = finish(db, &t.id).await?;
            cancelled_at_provider(db, t, &p).await?;
            Ok(done)
        }
        Ok(p) if ours(t, &p) && p.status == PaymentStatus::Done => {
            let (_, changed) = withdraw::refused(db, &t.id, &code, &message).await?;
            if changed {
                metrics().topup("WITHDRAWAL_REFUSED");
            }
            Ok(Cancelled::Refused { code, message })
        }
        Ok(p) => Ok(Cancelled::Pending(format!(
            "refused ({code}); the payment is {} at the provider",
            p.status.as_str()
        ))),
        Err(e) => Ok(Cancelled::Pending(format!(
            "refused ({code}), and the payment could not be looked up: {e}"
        ))),
    }
}

/// Whether the provider's word `p` says WITHDRAWING top-up `t`'s withdrawal is done: the
/// payment cancelled whole, or in part with no more than the rest left.
pub fn withdrawn_at_provider(t: &top_up::Model, p: &Payment) -> bool {
    match p.status {
        PaymentStatus::Canceled => true,
        PaymentStatus::PartialCanceled => {
            p.balance_amount_won <= t.amount.saturating_sub(t.withdrawal_won())
        }
        _ => false,
    }
}

/// WITHDRAWN, then the payment looked up afresh: whatever the provider cancelled beyond the
/// withdrawal meanwhile (its console, the card issuer) becomes a case. A look-up that fails
/// leaves that to the provider's webhook.
async fn finished(
    db: &DatabaseConnection,
    provider: &dyn PaymentProvider,
    t: &top_up::Model,
) -> Result<Cancelled, LedgerError> {
    let done = finish(db, &t.id).await?;
    let key = t.payment_key.clone().unwrap_or_default();
    match provider.payment(&key).await {
        Ok(p) if ours(t, &p) => cancelled_at_provider(db, t, &p).await?,
        Ok(_) => {}
        Err(e) => tracing::warn!(top_up = %t.id, error = %e,
            "a withdrawn payment could not be looked up again; the webhook reports any other cancel"),
    }
    Ok(done)
}

/// The provider's word `p`: top-up `t`'s payment (credited) is cancelled, whole or in part,
/// beyond the top-up's own withdrawal. Opens a reconciliation case for what is newly cancelled
/// (none when nothing is), counted and logged once.
pub async fn cancelled_at_provider(
    db: &DatabaseConnection,
    t: &top_up::Model,
    p: &Payment,
) -> Result<(), LedgerError> {
    if !matches!(
        p.status,
        PaymentStatus::Canceled | PaymentStatus::PartialCanceled
    ) {
        return Ok(());
    }
    let detail = format!(
        "the provider reports payment {} as {}: {} of its {} won remain; the wallet was \
         credited {} won",
        p.payment_key,
        p.status.as_str(),
        p.balance_amount_won,
        p.total_amount_won,
        t.amount
    );
    if let Some(case) = cases::provider_cancelled(db, &t.id, p.balance_amount_won, &detail).await? {
        metrics().reconciliation_case(case.kind.as_str());
        tracing::error!(case = %case.id, kind = case.kind.as_str(), top_up = %t.id,
            amount = case.amount, "payment cancelled at the provider beyond what MissionLink \
            withdrew: a reconciliation case is open");
    }
    Ok(())
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
