//! The operators' transitions of a mission: settling a dispute and cancelling. Like the
//! streamer's, each is one conditional update behind the mission's gate held exclusive, so it
//! races the streamer, the timers and the objections with exactly one winner, and it waits for
//! the pledges in flight.

use super::{Acting, Target, record};
use crate::LedgerError;
use crate::gate::gate_exclusive;
use crate::mission::find;
use crate::mission::transition::{announce, request_signal};
use crate::status::{MissionStatus, OperatorActionKind, Outcome};
use chrono::Utc;
use missionlink_entities::missions::{mission, operator_action};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

/// The statuses an operator can cancel from: every one that is not final.
const CANCELLABLE: [MissionStatus; 4] = [
    MissionStatus::Pending,
    MissionStatus::Active,
    MissionStatus::Verifying,
    MissionStatus::Disputed,
];

/// Settles a DISPUTED mission as `outcome` (SUCCESS pays the streamer, FAILURE refunds every
/// backer, once the workflow settles it). Returns the mission after it and the record.
#[tracing::instrument(name = "db.resolve_dispute", skip_all)]
pub async fn resolve(
    db: &DatabaseConnection,
    acting: &Acting,
    mission_id: &str,
    outcome: Outcome,
) -> Result<(mission::Model, operator_action::Model), LedgerError> {
    let to = match outcome {
        Outcome::Success => MissionStatus::Succeeded,
        Outcome::Failure => MissionStatus::Failed,
    };
    let txn = db.begin().await?;
    gate_exclusive(&txn, mission_id).await?;
    let m = find(&txn, mission_id).await?;
    if m.status != MissionStatus::Disputed {
        return Err(LedgerError::InvalidState(format!(
            "mission is {}; only a DISPUTED mission is resolved",
            m.status
        )));
    }
    let action = record(
        &txn,
        acting,
        OperatorActionKind::ResolveDispute,
        Target {
            mission_id: Some(mission_id),
            outcome: Some(outcome),
            ..Target::default()
        },
    )
    .await?;
    transition(&txn, &m, to, &action.id).await?;
    txn.commit().await?;
    Ok((find(db, mission_id).await?, action))
}

/// Cancels a mission that is not final: every backer is refunded (and every bet), once the
/// workflow settles it. Returns the mission after it and the record.
#[tracing::instrument(name = "db.cancel_mission", skip_all)]
pub async fn cancel(
    db: &DatabaseConnection,
    acting: &Acting,
    mission_id: &str,
) -> Result<(mission::Model, operator_action::Model), LedgerError> {
    let txn = db.begin().await?;
    gate_exclusive(&txn, mission_id).await?;
    let m = find(&txn, mission_id).await?;
    if !CANCELLABLE.contains(&m.status) {
        return Err(LedgerError::InvalidState(format!(
            "mission is {}; only a mission that is not final is cancelled",
            m.status
        )));
    }
    let action = cancel_one(&txn, acting, &m, None).await?;
    txn.commit().await?;
    Ok((find(db, mission_id).await?, action))
}

/// Cancels every mission of `streamer_id` that is not final, as caused by the suspension
/// `cause_id`, in its own transaction: run again after the suspension took effect, it catches
/// a mission proposed in between. Returns the cancelled missions' ids.
#[tracing::instrument(name = "db.cancel_missions_of", skip_all)]
pub async fn cancel_missions_of(
    db: &DatabaseConnection,
    acting: &Acting,
    streamer_id: &str,
    cause_id: &str,
) -> Result<Vec<String>, LedgerError> {
    let txn = db.begin().await?;
    let cancelled = cancel_all(&txn, acting, streamer_id, cause_id).await?;
    txn.commit().await?;
    Ok(cancelled)
}

/// [`cancel_missions_of`] in the caller's transaction. Gates are taken in id order, the order
/// every multi-mission transaction uses.
pub(super) async fn cancel_all<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    streamer_id: &str,
    cause_id: &str,
) -> Result<Vec<String>, LedgerError> {
    let open: Vec<String> = mission::Entity::find()
        .select_only()
        .column(mission::Column::Id)
        .filter(mission::Column::StreamerId.eq(streamer_id))
        .filter(mission::Column::Status.is_in(CANCELLABLE))
        .order_by_asc(mission::Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    let mut cancelled = Vec::with_capacity(open.len());
    for id in open {
        gate_exclusive(txn, &id).await?;
        let m = find(txn, &id).await?;
        // Read again behind the gate: it may have closed since the list was read.
        if CANCELLABLE.contains(&m.status) {
            cancel_one(txn, acting, &m, Some(cause_id)).await?;
            cancelled.push(id);
        }
    }
    Ok(cancelled)
}

/// Records the cancellation of `m` (read behind its gate) and makes it.
async fn cancel_one<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    m: &mission::Model,
    cause_id: Option<&str>,
) -> Result<operator_action::Model, LedgerError> {
    let action = record(
        txn,
        acting,
        OperatorActionKind::CancelMission,
        Target {
            mission_id: Some(&m.id),
            cause_id,
            ..Target::default()
        },
    )
    .await?;
    transition(txn, m, MissionStatus::Cancelled, &action.id).await?;
    Ok(action)
}

/// Moves `m` (read behind its gate) from its status to `to` for the operator action
/// `action_id`; the mission stops taking pledges now if it had not already.
async fn transition<C: ConnectionTrait>(
    txn: &C,
    m: &mission::Model,
    to: MissionStatus,
    action_id: &str,
) -> Result<(), LedgerError> {
    let now = Utc::now();
    let changed = mission::Entity::update_many()
        .col_expr(mission::Column::Status, Expr::value(to))
        .col_expr(
            mission::Column::ClosedAt,
            Expr::value(m.closed_at.unwrap_or(now)),
        )
        .filter(mission::Column::Id.eq(&m.id))
        .filter(mission::Column::Status.eq(m.status))
        .exec(txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(LedgerError::Contended(format!(
            "mission {} left {} behind its gate",
            m.id, m.status
        )));
    }
    request_signal(txn, &m.id, to, Some(action_id), now).await?;
    announce(txn, &m.id, &m.streamer_id, to).await?;
    Ok(())
}
