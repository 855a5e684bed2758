//! Withdrawal of a top-up (KCC guideline: penalty-free withdrawal of unspent purchases within
//! 7 days): [`begin`], then [`finish`] or [`refused`] once the provider answered the cancel.
//!
//! A withdrawal takes all of the top-up or part of it (issue 26: Toss's `cancelAmount`), once
//! per top-up. "Unspent" is the wallet covering what is withdrawn: cash is fungible, so the rule
//! is that the withdrawal's debit must succeed (`balance >= amount`, the ledger's conditional
//! debit). A wallet that spent part of a top-up can still withdraw what it holds of it.
//!
//! The order is debit first, provider second. `begin` takes the won out of the wallet
//! (`withdrawal:<top-up>`, WITHDRAWING) before the provider is asked to cancel the payment,
//! so the same won can never be both spent and refunded to the card. If the provider cancels,
//! [`finish`] marks it WITHDRAWN; if it refuses for good, [`refused`] gives the won back
//! (`withdrawal-return:<top-up>`); if it does not answer (or the process dies), the top-up
//! stays WITHDRAWING — the money is out of the wallet, not lost — and the next `cancelTopUp`
//! (or the provider's webhook reporting the cancel) asks again with the same idempotency key
//! at the provider, which never cancels twice.

use super::{
    TopUpRules, find, find_own, receipts, withdrawable_until, withdrawal_return_transfer_id,
    withdrawal_transfer_id,
};
use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::status::{TopUpEvent, TopUpStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::top_up;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

/// The window is over.
pub const WINDOW_CLOSED: &str = "WITHDRAWAL_WINDOW_CLOSED";
/// The wallet no longer holds the whole amount.
pub const ALREADY_SPENT: &str = "TOPUP_ALREADY_SPENT";
/// The provider refused to cancel the payment.
pub const REFUSED: &str = "WITHDRAWAL_REFUSED";

/// What a withdrawal found.
#[derive(Clone, Debug)]
pub enum Begun {
    /// WITHDRAWING: ask the provider to cancel, then [`finish`] or [`refused`].
    Ask(top_up::Model),
    /// Already WITHDRAWN: answer it.
    Done(top_up::Model),
}

/// Begins withdrawing `amount_won` of the caller's top-up `id` (all of it when `None`),
/// idempotent per `key`: within `rules.withdrawal_days` of its confirmation, while the wallet
/// covers that much, the won leave the wallet and it becomes WITHDRAWING, in one transaction.
/// Refusals, with nothing changed: an amount below 1 or above the top-up's (`InvalidAmount`),
/// [`WINDOW_CLOSED`], [`ALREADY_SPENT`] (saying how much could be withdrawn), [`REFUSED`] (the
/// provider refused before), `INVALID_STATE` for a top-up never confirmed.
pub async fn begin(
    db: &DatabaseConnection,
    user_id: &str,
    id: &str,
    amount_won: Option<i64>,
    key: &IdempotencyKey,
    rules: &TopUpRules,
    now: DateTime<Utc>,
) -> Result<Begun, LedgerError> {
    let asked = amount_won.map_or_else(|| "all".to_owned(), |a| a.to_string());
    let hash = idempotency::request_hash("cancelTopUp", &format!("{id}:{asked}"));
    let txn = db.begin().await?;
    // The key's claim is the first write; its response is the top-up's id. A replay reads
    // the top-up as it is now: the debit happened once either way, and a WITHDRAWING one must
    // be asked about again, not answered from the past.
    if let Claim::Replay(_) = idempotency::claim(&txn, user_id, key, "cancelTopUp", &hash).await? {
        txn.rollback().await?;
        return state_of(find_own(db, user_id, id).await?);
    }
    let t = find_own(&txn, user_id, id).await?;
    match t.status {
        TopUpStatus::Confirmed => {}
        _ => {
            let answer = state_of(t)?;
            idempotency::complete(&txn, user_id, key, id).await?;
            txn.commit().await?;
            return Ok(answer);
        }
    }
    if t.failure_code.is_some() {
        return Err(refused_before(&t));
    }
    // What the provider cancelled behind our back (a reconciliation case) is not the user's to
    // withdraw again: an operator settles it.
    let left = t.amount - t.provider_cancelled_won;
    if left <= 0 {
        return Err(LedgerError::InvalidState(
            "this payment was cancelled at the payment provider; an operator settles it with \
             you"
            .into(),
        ));
    }
    let amount = amount_won.unwrap_or(left);
    if !(1..=left).contains(&amount) {
        return Err(LedgerError::InvalidAmount(format!(
            "amount must be 1 to {left} won: what is left of this top-up at the payment provider"
        )));
    }
    let confirmed_at = t
        .confirmed_at
        .ok_or_else(|| LedgerError::Corrupt(format!("top-up {id} CONFIRMED without a time")))?;
    let until = withdrawable_until(confirmed_at, rules);
    if now > until {
        return Err(LedgerError::Refused {
            code: WINDOW_CLOSED,
            message: format!(
                "top-ups may be withdrawn within {} days of payment; this one could be until {}",
                rules.withdrawal_days,
                until.to_rfc3339()
            ),
            retry_at: None,
        });
    }
    // CONFIRMED -> WITHDRAWING, once: a concurrent withdrawal with another key waits on the
    // row, then matches nothing.
    let moved = top_up::Entity::update_many()
        .col_expr(
            top_up::Column::Status,
            Expr::value(TopUpStatus::Withdrawing),
        )
        .col_expr(top_up::Column::WithdrawingAt, Expr::value(now))
        .col_expr(top_up::Column::WithdrawnWon, Expr::value(amount))
        .filter(top_up::Column::Id.eq(id))
        .filter(top_up::Column::Status.eq(TopUpStatus::Confirmed))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        txn.rollback().await?;
        return state_of(find_own(db, user_id, id).await?);
    }
    let debited = transfer::apply(
        &txn,
        &Transfer {
            id: withdrawal_transfer_id(id),
            debit: AccountId::wallet(Currency::Cash, user_id),
            credit: AccountId::world(Currency::Cash),
            amount: Amount::new(amount)?,
            kind: TransferKind::Withdrawal,
        },
    )
    .await;
    if let Err(LedgerError::InsufficientFunds { .. }) = debited {
        txn.rollback().await?;
        let cash = crate::wallet::read(db, user_id).await?.cash_won;
        return Err(LedgerError::Refused {
            code: ALREADY_SPENT,
            message: format!(
                "withdrawing {amount} won of this top-up needs them unspent in your wallet, \
                 which holds {cash} won: withdraw at most {} won of it",
                cash.clamp(0, t.amount)
            ),
            retry_at: None,
        });
    }
    debited?;
    idempotency::complete(&txn, user_id, key, id).await?;
    let begun = find(&txn, id).await?;
    txn.commit().await?;
    Ok(Begun::Ask(begun))
}

/// The refusal of a top-up whose cancel the provider refused before.
fn refused_before(t: &top_up::Model) -> LedgerError {
    LedgerError::Refused {
        code: REFUSED,
        message: format!(
            "the payment provider refused to cancel this payment ({}: {}); contact us",
            t.failure_code.as_deref().unwrap_or("-"),
            t.failure_message.as_deref().unwrap_or("-")
        ),
        retry_at: None,
    }
}

/// A top-up past CONFIRMED (or never confirmed), as a withdrawal sees it.
fn state_of(t: top_up::Model) -> Result<Begun, LedgerError> {
    match t.status {
        TopUpStatus::Withdrawing => Ok(Begun::Ask(t)),
        TopUpStatus::Withdrawn => Ok(Begun::Done(t)),
        TopUpStatus::Confirmed if t.failure_code.is_some() => Err(refused_before(&t)),
        TopUpStatus::Confirmed => Err(LedgerError::Contended(format!(
            "top-up {} changed while it was being withdrawn; try again",
            t.id
        ))),
        TopUpStatus::Prepared | TopUpStatus::Confirming | TopUpStatus::Failed => {
            Err(LedgerError::InvalidState(format!(
                "top-up {} is {}: only a confirmed top-up can be withdrawn",
                t.id, t.status
            )))
        }
    }
}

/// The provider cancelled the payment of top-up `id` (WITHDRAWING): WITHDRAWN and its receipt
/// queued. Returns the top-up and whether this call finished it.
pub async fn finish(
    db: &DatabaseConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(top_up::Model, bool), LedgerError> {
    let txn = db.begin().await?;
    let (t, moved) = super::transition(
        &txn,
        id,
        TopUpStatus::Withdrawing,
        top_up::Entity::update_many()
            .col_expr(top_up::Column::Status, Expr::value(TopUpStatus::Withdrawn))
            .col_expr(top_up::Column::WithdrawnAt, Expr::value(now)),
    )
    .await?;
    if !moved {
        txn.rollback().await?;
        return Ok((t, false));
    }
    receipts::record(&txn, id, TopUpEvent::Withdrawn, now).await?;
    txn.commit().await?;
    Ok((t, true))
}

/// The provider refused for good to cancel the payment of top-up `id` (WITHDRAWING): the won
/// withdrawn back in the wallet (`withdrawal-return:<top-up>`), CONFIRMED again with the
/// provider's reason, and no further withdrawal attempts ([`REFUSED`]).
pub async fn refused(
    db: &DatabaseConnection,
    id: &str,
    code: &str,
    message: &str,
) -> Result<(top_up::Model, bool), LedgerError> {
    let txn = db.begin().await?;
    let (t, moved) = super::transition(
        &txn,
        id,
        TopUpStatus::Withdrawing,
        top_up::Entity::update_many()
            .col_expr(top_up::Column::Status, Expr::value(TopUpStatus::Confirmed))
            .col_expr(top_up::Column::FailureCode, Expr::value(code))
            .col_expr(top_up::Column::FailureMessage, Expr::value(message)),
    )
    .await?;
    if !moved {
        txn.rollback().await?;
        return Ok((t, false));
    }
    transfer::apply(
        &txn,
        &Transfer {
            id: withdrawal_return_transfer_id(id),
            debit: AccountId::world(Currency::Cash),
            credit: AccountId::wallet(Currency::Cash, &t.user_id),
            amount: Amount::new(t.withdrawal_won())?,
            kind: TransferKind::WithdrawalReturn,
        },
    )
    .await?;
    txn.commit().await?;
    Ok((t, true))
}
