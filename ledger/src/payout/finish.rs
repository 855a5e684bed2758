//! A payout's status changes after its request: each one conditional update of the payout's
//! row, in the transaction of the transfers it makes, so a cancel racing the start of
//! processing (or two workers finishing the same payout) has exactly one winner.

use super::transfer_ids;
use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::status::{PayoutKind, PayoutStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::Utc;
use missionlink_entities::missions::payout;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};

/// How the bank answered a payout in PROCESSING.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    /// Refused by the bank, with its reason: the money goes back to earnings.
    Failed(String),
}

/// One conditional update: `from` → `to` for payout `id`. Whether this call made the change.
pub(crate) async fn transition<C: ConnectionTrait>(
    db: &C,
    id: &str,
    from: PayoutStatus,
    to: PayoutStatus,
    reason: Option<String>,
) -> Result<bool, LedgerError> {
    let now = Utc::now();
    let mut update = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(to.as_str()))
        .filter(payout::Column::Id.eq(id))
        .filter(payout::Column::Status.eq(from));
    if to == PayoutStatus::Processing {
        update = update.col_expr(payout::Column::ProcessingAt, Expr::value(now));
    } else {
        update = update
            .col_expr(payout::Column::FinishedAt, Expr::value(now))
            .col_expr(payout::Column::FailureReason, Expr::value(reason));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// The streamer cancels their payout while it waits out the hold: CANCELLED, and the whole
/// amount back to earnings (`payoutreturn:<id>`), in one transaction with the idempotency
/// claim of `key` (BRIEF §4.4: it moves money). The same key again answers the payout as it is
/// now; with another payout, `IdempotencyKeyReused`. A payout already CANCELLED is answered
/// unchanged; any other status is refused with `InvalidState`, nothing written. Another
/// streamer's payout is `NotFound`, like one that does not exist. A payout an operator holds is
/// refused (`InvalidState`): only an operator decides it.
#[tracing::instrument(name = "db.cancel_payout", skip_all)]
pub async fn cancel(
    db: &DatabaseConnection,
    streamer_id: &str,
    id: &str,
    key: &IdempotencyKey,
) -> Result<(payout::Model, bool), LedgerError> {
    let found = super::find(db, id).await;
    match found {
        Ok(p) if p.streamer_id == streamer_id => {}
        Ok(_) | Err(LedgerError::NotFound(_)) => {
            return Err(LedgerError::NotFound(
                "no payout of yours has this id".into(),
            ));
        }
        Err(e) => return Err(e),
    }
    let txn = db.begin().await?;
    let hash = idempotency::request_hash(CANCEL, id);
    if let Claim::Replay(_) = idempotency::claim(&txn, streamer_id, key, CANCEL, &hash).await? {
        txn.rollback().await?;
        return Ok((super::find(db, id).await?, false));
    }
    lock(&txn, id).await?;
    if super::find(&txn, id).await?.held_at.is_some() {
        // Dropping `txn` gives the claim back: nothing of this request stays.
        return Err(LedgerError::InvalidState(
            "an operator holds this payout: only an operator can release or cancel it".into(),
        ));
    }
    let cancelled = transition(
        &txn,
        id,
        PayoutStatus::Requested,
        PayoutStatus::Cancelled,
        None,
    )
    .await?;
    let row = super::find(&txn, id).await?;
    if cancelled {
        give_back(&txn, &row).await?;
    } else if row.status != PayoutStatus::Cancelled {
        // Dropping `txn` gives the claim back: nothing of this request stays.
        return Err(LedgerError::InvalidState(format!(
            "this payout is {}: only a REQUESTED payout can be cancelled",
            row.status
        )));
    }
    idempotency::complete(&txn, streamer_id, key, "{}").await?;
    txn.commit().await?;
    Ok((row, cancelled))
}

/// The operation name of a cancel's idempotency claim.
const CANCEL: &str = "cancelPayout";

/// Takes payout `id`'s row for the rest of the caller's transaction before anything is read: a
/// no-op update, which is the row lock on Postgres and the write lock on SQLite (a transaction
/// that read first and wrote second could not upgrade its lock while another writes).
pub(crate) async fn lock<C: ConnectionTrait>(txn: &C, id: &str) -> Result<(), LedgerError> {
    payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::col(payout::Column::Status))
        .filter(payout::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Holds REQUESTED payout `id` from `at` by the operator action `by` (a `HOLD_PAYOUT`, or the
/// `SUSPEND_USER` that stops it), if it is not held already: whether this call held it.
pub(crate) async fn hold_row<C: ConnectionTrait>(
    txn: &C,
    id: &str,
    at: chrono::DateTime<Utc>,
    by: &str,
) -> Result<bool, LedgerError> {
    let changed = payout::Entity::update_many()
        .col_expr(payout::Column::HeldAt, Expr::value(at))
        .col_expr(payout::Column::HeldBy, Expr::value(by))
        .filter(payout::Column::Id.eq(id))
        .filter(payout::Column::Status.eq(PayoutStatus::Requested))
        .filter(payout::Column::HeldAt.is_null())
        .exec(txn)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// The hold is over: REQUESTED → PROCESSING, the last step before the bank, unless the payout
/// is held or its streamer is suspended. A suspended streamer's payout is held here (by the
/// suspension's record: `held_by`), so it waits for an operator instead of leaving, even
/// where the suspension's own sweep has not reached it yet. Returns the payout as it is now,
/// whoever changed it (CANCELLED if the streamer won the race; still REQUESTED and held; or
/// PROCESSING or later on a retry).
pub async fn start_processing(
    db: &DatabaseConnection,
    id: &str,
) -> Result<payout::Model, LedgerError> {
    let txn = db.begin().await?;
    lock(&txn, id).await?;
    let p = super::find(&txn, id).await?;
    if p.status != PayoutStatus::Requested || p.held_at.is_some() {
        txn.rollback().await?;
        return Ok(p);
    }
    let now = Utc::now();
    if let Some(suspension) =
        crate::operator::suspension_in_force(&txn, &p.streamer_id, now).await?
    {
        hold_row(&txn, id, now, &suspension.id).await?;
        tracing::warn!(payout_id = %id, "payout of a suspended streamer held for an operator");
    } else {
        payout::Entity::update_many()
            .col_expr(
                payout::Column::Status,
                Expr::value(PayoutStatus::Processing.as_str()),
            )
            .col_expr(payout::Column::ProcessingAt, Expr::value(now))
            .filter(payout::Column::Id.eq(id))
            .filter(payout::Column::Status.eq(PayoutStatus::Requested))
            .filter(payout::Column::HeldAt.is_null())
            .exec(&txn)
            .await?;
    }
    let row = super::find(&txn, id).await?;
    txn.commit().await?;
    Ok(row)
}

/// The bank answered: PROCESSING → PAID (the net out to the world, the fee to the fee
/// account) or FAILED (the whole amount back to earnings), with the transfers, in one
/// transaction. A payout already in that outcome is returned as it is (a retried step); one in
/// any other status is `InvalidState`. The flag says whether this call made the change.
#[tracing::instrument(name = "db.finish_payout", skip_all)]
pub async fn finish(
    db: &DatabaseConnection,
    id: &str,
    outcome: &Outcome,
) -> Result<(payout::Model, bool), LedgerError> {
    let (to, reason) = match outcome {
        Outcome::Paid => (PayoutStatus::Paid, None),
        Outcome::Failed(reason) => (PayoutStatus::Failed, Some(reason.clone())),
    };
    let txn = db.begin().await?;
    let changed = transition(&txn, id, PayoutStatus::Processing, to, reason).await?;
    let row = super::find(&txn, id).await?;
    if !changed {
        txn.rollback().await?;
        return if row.status == to {
            Ok((row, false))
        } else {
            Err(LedgerError::InvalidState(format!(
                "payout {id} is {}, not PROCESSING: it cannot become {to}",
                row.status
            )))
        };
    }
    match outcome {
        Outcome::Paid => pay_out(&txn, &row).await?,
        Outcome::Failed(_) => give_back(&txn, &row).await?,
    }
    txn.commit().await?;
    Ok((row, true))
}

/// `payoutpaid:<id>:bank` and `payoutpaid:<id>:fee`: the hold emptied to the bank and the fee
/// account.
async fn pay_out<C: ConnectionTrait>(db: &C, p: &payout::Model) -> Result<(), LedgerError> {
    let hold = AccountId::payout_hold(&p.id);
    let net = p
        .amount
        .checked_sub(p.fee)
        .ok_or_else(|| LedgerError::Corrupt(format!("payout {} fee overflows", p.id)))?;
    transfer::apply(
        db,
        &Transfer {
            id: transfer_ids::paid_bank(&p.id),
            debit: hold.clone(),
            credit: AccountId::world(Currency::Cash),
            amount: Amount::new(net)?,
            kind: TransferKind::BankTransfer,
        },
    )
    .await?;
    if p.fee > 0 {
        transfer::apply(
            db,
            &Transfer {
                id: transfer_ids::paid_fee(&p.id),
                debit: hold,
                credit: AccountId::platform_fee(),
                amount: Amount::new(p.fee)?,
                kind: TransferKind::Fee,
            },
        )
        .await?;
    }
    Ok(())
}

/// `payoutreturn:<id>`: the whole hold back to the streamer's earnings.
pub(crate) async fn give_back<C: ConnectionTrait>(
    db: &C,
    p: &payout::Model,
) -> Result<(), LedgerError> {
    // Back where it came from: a streamer's earnings, or a cash refund's wallet.
    let (credit, kind) = match p.kind {
        PayoutKind::Earnings => (
            AccountId::earnings(&p.streamer_id),
            TransferKind::PayoutReturn,
        ),
        PayoutKind::CashRefund => (
            AccountId::wallet(Currency::Cash, &p.streamer_id),
            TransferKind::CashRefundReturn,
        ),
    };
    transfer::apply(
        db,
        &Transfer {
            id: transfer_ids::returned(&p.id),
            debit: AccountId::payout_hold(&p.id),
            credit,
            amount: Amount::new(p.amount)?,
            kind,
        },
    )
    .await?;
    Ok(())
}
