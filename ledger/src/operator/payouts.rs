//! Operators and payouts (issue 23): a payout still waiting out its hold can be held (it then
//! waits for an operator instead of leaving for the bank), released, or cancelled with the whole
//! amount back to earnings; a suspended streamer's waiting payouts are cancelled by the
//! suspension. Each action is recorded in the transaction of its effect, like every operator
//! action. The payout's workflow re-reads the row when told (`reviewed`/`cancelled` signals),
//! and reads it anyway before the bank ([`crate::payout::start_processing`]).

use super::{Acting, Target, is_suspended, record};
use crate::LedgerError;
use crate::payout::{find, give_back, hold_row, lock, transition};
use crate::status::{OperatorActionKind, PayoutStatus};
use chrono::Utc;
use missionlink_entities::missions::{operator_action, payout};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

/// Payouts listed per transaction of the suspension's sweep.
const SWEEP_PAGE: u64 = 100;

/// Records action `kind` on `payout_id`, in the caller's transaction.
async fn record_on<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    kind: OperatorActionKind,
    payout_id: &str,
    cause_id: Option<&str>,
) -> Result<operator_action::Model, LedgerError> {
    record(
        txn,
        acting,
        kind,
        Target {
            payout_id: Some(payout_id),
            cause_id,
            ..Target::default()
        },
    )
    .await
}

/// Payout `payout_id`, its row taken for `txn` ([`lock`]), if it is still REQUESTED;
/// `INVALID_STATE` naming its status (nothing written) otherwise.
async fn waiting<C: ConnectionTrait>(
    txn: &C,
    payout_id: &str,
    what: &str,
) -> Result<payout::Model, LedgerError> {
    lock(txn, payout_id).await?;
    let p = find(txn, payout_id).await?;
    if p.status != PayoutStatus::Requested {
        return Err(LedgerError::InvalidState(format!(
            "this payout is {}: only a REQUESTED payout (waiting out its hold) can be {what}",
            p.status
        )));
    }
    Ok(p)
}

/// Holds REQUESTED payout `payout_id`: it stays REQUESTED, and when its hold ends it waits for
/// an operator instead of leaving. Refused (`INVALID_STATE`, nothing written) once it left
/// REQUESTED or while it is held already.
#[tracing::instrument(name = "db.hold_payout", skip_all)]
pub async fn hold(
    db: &DatabaseConnection,
    acting: &Acting,
    payout_id: &str,
) -> Result<(payout::Model, operator_action::Model), LedgerError> {
    let txn = db.begin().await?;
    let p = waiting(&txn, payout_id, "held").await?;
    if p.held_at.is_some() {
        return Err(LedgerError::InvalidState(
            "this payout is held already: release or cancel it".into(),
        ));
    }
    let action = record_on(
        &txn,
        acting,
        OperatorActionKind::HoldPayout,
        payout_id,
        None,
    )
    .await?;
    if !hold_row(&txn, payout_id, action.created_at, &action.id).await? {
        return Err(LedgerError::Contended(format!(
            "payout {payout_id} changed while it was being held"
        )));
    }
    let held = find(&txn, payout_id).await?;
    txn.commit().await?;
    Ok((held, action))
}

/// Releases held payout `payout_id`: it goes on to the bank when its hold ends (at once if it
/// has). Refused while its streamer is suspended (`INVALID_STATE`: lift the suspension or cancel
/// the payout), and for a payout that is not held.
#[tracing::instrument(name = "db.release_payout", skip_all)]
pub async fn release(
    db: &DatabaseConnection,
    acting: &Acting,
    payout_id: &str,
) -> Result<(payout::Model, operator_action::Model), LedgerError> {
    let txn = db.begin().await?;
    let p = waiting(&txn, payout_id, "released").await?;
    let Some(held_by) = p.held_by.clone() else {
        return Err(LedgerError::InvalidState("this payout is not held".into()));
    };
    if is_suspended(&txn, &p.streamer_id, Utc::now()).await? {
        return Err(LedgerError::InvalidState(
            "the payout's streamer is suspended: lift the suspension first, or cancel the payout"
                .into(),
        ));
    }
    let action = record_on(
        &txn,
        acting,
        OperatorActionKind::ReleasePayout,
        payout_id,
        None,
    )
    .await?;
    let changed = payout::Entity::update_many()
        .col_expr(
            payout::Column::HeldAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(payout::Column::HeldBy, Expr::value(Option::<String>::None))
        .filter(payout::Column::Id.eq(payout_id))
        .filter(payout::Column::Status.eq(PayoutStatus::Requested))
        .filter(payout::Column::HeldBy.eq(held_by))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(LedgerError::Contended(format!(
            "payout {payout_id} changed while it was being released"
        )));
    }
    let released = find(&txn, payout_id).await?;
    txn.commit().await?;
    Ok((released, action))
}

/// Cancels REQUESTED payout `payout_id` (held or not): CANCELLED, the whole amount back to the
/// streamer's earnings (`payoutreturn:<id>`), recorded. Refused once it left REQUESTED.
#[tracing::instrument(name = "db.cancel_payout_as_operator", skip_all)]
pub async fn cancel_payout(
    db: &DatabaseConnection,
    acting: &Acting,
    payout_id: &str,
) -> Result<(payout::Model, operator_action::Model), LedgerError> {
    let txn = db.begin().await?;
    let p = waiting(&txn, payout_id, "cancelled").await?;
    let (row, action) = cancel_one(&txn, acting, &p, None).await?;
    txn.commit().await?;
    Ok((row, action))
}

/// REQUESTED → CANCELLED for `p` with its record and the money back; `Contended` if another
/// step moved it first (the caller's transaction then writes nothing).
async fn cancel_one<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    p: &payout::Model,
    cause_id: Option<&str>,
) -> Result<(payout::Model, operator_action::Model), LedgerError> {
    let action = record_on(
        txn,
        acting,
        OperatorActionKind::CancelPayout,
        &p.id,
        cause_id,
    )
    .await?;
    if !transition(
        txn,
        &p.id,
        PayoutStatus::Requested,
        PayoutStatus::Cancelled,
        None,
    )
    .await?
    {
        return Err(LedgerError::Contended(format!(
            "payout {} left REQUESTED while it was being cancelled",
            p.id
        )));
    }
    let row = find(txn, &p.id).await?;
    give_back(txn, &row).await?;
    Ok((row, action))
}

/// The suspension `cause_id` of `streamer_id` stops their payouts still waiting out the hold:
/// each REQUESTED payout (held or not) is cancelled in its own transaction, the money back to
/// earnings, recorded with the suspension as its cause. One that left for the bank meanwhile is
/// passed over (the workflow's own standing check holds any that the sweep has not reached).
/// Returns the cancelled payouts' ids.
#[tracing::instrument(name = "db.cancel_payouts_of", skip_all)]
pub async fn cancel_payouts_of(
    db: &DatabaseConnection,
    acting: &Acting,
    streamer_id: &str,
    cause_id: &str,
) -> Result<Vec<String>, LedgerError> {
    let mut cancelled = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut waiting = payout::Entity::find()
            .select_only()
            .column(payout::Column::Id)
            .filter(payout::Column::StreamerId.eq(streamer_id))
            .filter(payout::Column::Status.eq(PayoutStatus::Requested))
            .order_by_asc(payout::Column::Id)
            .limit(SWEEP_PAGE);
        if let Some(after) = &after {
            waiting = waiting.filter(payout::Column::Id.gt(after.as_str()));
        }
        let page: Vec<String> = waiting.into_tuple().all(db).await?;
        let Some(last) = page.last().cloned() else {
            return Ok(cancelled);
        };
        for id in page {
            let txn = db.begin().await?;
            lock(&txn, &id).await?;
            let p = find(&txn, &id).await?;
            if p.status == PayoutStatus::Requested {
                match cancel_one(&txn, acting, &p, Some(cause_id)).await {
                    Ok(_) => {
                        txn.commit().await?;
                        cancelled.push(id);
                    }
                    // Started processing between the read and the update: it left first.
                    Err(LedgerError::Contended(_)) => txn.rollback().await?,
                    Err(e) => return Err(e),
                }
            }
        }
        after = Some(last);
    }
}
