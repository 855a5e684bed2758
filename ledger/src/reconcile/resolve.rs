//! An operator settles a reconciliation case: one operator action (`RESOLVE_RECONCILIATION`,
//! at most one per case: a unique index) in the transaction of the case's movements.

use super::cases::find;
use super::receivable;
use crate::account;
use crate::operator::{Acting, Target, record};
use crate::status::{
    CaseAction, CaseKind, CaseStatus, OperatorActionKind, PayoutKind, TopUpStatus, TransferKind,
};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::Utc;
use missionlink_entities::missions::reconciliation_case as case;
use missionlink_entities::missions::{operator_action, top_up};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};

/// A settled case and the action that settled it.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub case: case::Model,
    pub action: operator_action::Model,
}

/// The actions that fit a case of `kind`: a cancel at the provider moved credited won back to
/// the card, so the wallet is debited or the won owed (the provider has refunded already); a
/// payment taken and never credited is refunded at the provider; a payout the bank sent back
/// goes back to the balance it was paid from. Every case may be closed with no movement.
pub fn allowed(kind: CaseKind) -> &'static [CaseAction] {
    match kind {
        CaseKind::TopupCancelledAtProvider | CaseKind::PartialCancelAtProvider => &[
            CaseAction::DebitWallet,
            CaseAction::RecordReceivable,
            CaseAction::NoAction,
        ],
        CaseKind::AmountMismatch | CaseKind::OverLimit => {
            &[CaseAction::RefundAtProvider, CaseAction::NoAction]
        }
        CaseKind::PayoutReturnedByBank => &[CaseAction::ReturnToBalance, CaseAction::NoAction],
    }
}

/// Case `case_id`, OPEN and fit for `action`; `INVALID_STATE` or `BAD_USER_INPUT` (nothing
/// written) otherwise. Read without a lock: [`resolve`] checks again under its own.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    case_id: &str,
    action: CaseAction,
) -> Result<case::Model, LedgerError> {
    let c = find(db, case_id).await?;
    if c.status != CaseStatus::Open {
        return Err(LedgerError::InvalidState(format!(
            "this case is resolved already ({})",
            c.resolution.map_or("?", |r| r.as_str())
        )));
    }
    let fits = allowed(c.kind);
    if !fits.contains(&action) {
        return Err(LedgerError::invalid(
            "action",
            format!(
                "a {} case is resolved with one of {}",
                c.kind,
                fits.iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    // A payment refunded at the provider must be one nothing credited: an order whose confirm
    // went through since (the limit freed, a redelivered webhook) is not refunded behind the
    // wallet's back.
    if action == CaseAction::RefundAtProvider
        && let Some(key) = &c.payment_key
    {
        let credited = top_up::Entity::find()
            .filter(top_up::Column::PaymentKey.eq(key.as_str()))
            .filter(top_up::Column::Status.is_in([
                TopUpStatus::Confirmed,
                TopUpStatus::Withdrawing,
                TopUpStatus::Withdrawn,
            ]))
            .one(db)
            .await?;
        if let Some(t) = credited {
            return Err(LedgerError::InvalidState(format!(
                "the payment was credited since (top-up {} is {}): it is not refunded at the \
                 provider behind the wallet; withdraw it, or resolve NO_ACTION",
                t.id, t.status
            )));
        }
    }
    Ok(c)
}

/// Settles OPEN case `case_id` with `action` as `acting`, in one transaction: the operator
/// action, the movements, and the case RESOLVED with what it moved.
///
/// - `DEBIT_WALLET`: the wallet gives what it holds, up to the amount (`PROVIDER_REVERSAL`,
///   `case:<id>:debit`); the rest is owed (`OWED`, `case:<id>:owed`).
/// - `RECORD_RECEIVABLE`: all of the amount is owed; the wallet is left as it is.
/// - `RETURN_TO_BALANCE` (a payout the bank sent back): its amount back to the balance it was
///   paid from (`case:<id>:returned`): a streamer's earnings, or a cash refund's cash.
/// - `REFUND_AT_PROVIDER` (the caller has had the provider refund the payment) and
///   `NO_ACTION`: nothing moves.
///
/// Refused, nothing written: a resolved case (`INVALID_STATE`), an action that does not fit
/// its kind ([`allowed`]). A racing second resolution finds the case resolved.
pub async fn resolve(
    db: &DatabaseConnection,
    acting: &Acting,
    case_id: &str,
    action: CaseAction,
) -> Result<Resolved, LedgerError> {
    let txn = db.begin().await?;
    // Takes the case's row, then checks it under the lock.
    case::Entity::update_many()
        .col_expr(case::Column::Status, Expr::col(case::Column::Status))
        .filter(case::Column::Id.eq(case_id))
        .exec(&txn)
        .await?;
    let c = check(&txn, case_id, action).await?;
    let recorded = record(
        &txn,
        acting,
        OperatorActionKind::ResolveReconciliation,
        Target {
            case_id: Some(case_id),
            ..Target::default()
        },
    )
    .await?;
    let (debited, owed) = match action {
        CaseAction::DebitWallet => {
            let balance = receivable::lock_wallet(&txn, &c.user_id).await?;
            let debited = balance.clamp(0, c.amount);
            (debited, c.amount - debited)
        }
        CaseAction::RecordReceivable => {
            receivable::lock_wallet(&txn, &c.user_id).await?;
            (0, c.amount)
        }
        CaseAction::RefundAtProvider | CaseAction::ReturnToBalance | CaseAction::NoAction => (0, 0),
    };
    let returned = if action == CaseAction::ReturnToBalance {
        c.amount
    } else {
        0
    };
    if returned > 0 {
        // Back to the balance it was paid from: a streamer's earnings, or a cash refund's cash.
        let paid_from = match &c.payout_id {
            Some(id) => crate::payout::find(&txn, id).await?.kind,
            None => PayoutKind::Earnings,
        };
        let to_cash = paid_from == PayoutKind::CashRefund;
        let (credit, kind) = if to_cash {
            // Cash, like every credit of a wallet: under its row, what is owed repaid first.
            receivable::lock_wallet(&txn, &c.user_id).await?;
            (
                AccountId::wallet(Currency::Cash, &c.user_id),
                TransferKind::CashRefundReturn,
            )
        } else {
            (AccountId::earnings(&c.user_id), TransferKind::PayoutReturn)
        };
        let id = format!("case:{case_id}:returned");
        transfer::apply(
            &txn,
            &Transfer {
                id: id.clone(),
                debit: AccountId::world(Currency::Cash),
                credit,
                amount: Amount::new(returned)?,
                kind,
            },
        )
        .await?;
        if to_cash {
            receivable::repay(
                &txn,
                &[receivable::Credited {
                    user_id: &c.user_id,
                    amount: returned,
                    transfer_id: &id,
                }],
            )
            .await?;
        }
    }
    if debited > 0 {
        transfer::apply(
            &txn,
            &Transfer {
                id: format!("case:{case_id}:debit"),
                debit: AccountId::wallet(Currency::Cash, &c.user_id),
                credit: AccountId::world(Currency::Cash),
                amount: Amount::new(debited)?,
                kind: TransferKind::ProviderReversal,
            },
        )
        .await?;
    }
    if owed > 0 {
        let receivable = AccountId::receivable(&c.user_id);
        account::open(&txn, std::slice::from_ref(&receivable)).await?;
        transfer::apply(
            &txn,
            &Transfer {
                id: format!("case:{case_id}:owed"),
                debit: receivable,
                credit: AccountId::world(Currency::Cash),
                amount: Amount::new(owed)?,
                kind: TransferKind::Owed,
            },
        )
        .await?;
    }
    let now = Utc::now();
    case::Entity::update_many()
        .col_expr(case::Column::Status, Expr::value(CaseStatus::Resolved))
        .col_expr(case::Column::Resolution, Expr::value(action))
        .col_expr(case::Column::ResolvedBy, Expr::value(recorded.id.clone()))
        .col_expr(case::Column::ResolvedAt, Expr::value(now))
        .col_expr(case::Column::Debited, Expr::value(debited))
        .col_expr(case::Column::Owed, Expr::value(owed))
        .col_expr(case::Column::Returned, Expr::value(returned))
        .filter(case::Column::Id.eq(case_id))
        .filter(case::Column::Status.eq(CaseStatus::Open))
        .exec(&txn)
        .await?;
    let resolved = find(&txn, case_id).await?;
    txn.commit().await?;
    Ok(Resolved {
        case: resolved,
        action: recorded,
    })
}
