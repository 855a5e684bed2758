//! The operators' transitions of a mission: settling a dispute and cancelling. Like the
//! streamer's, each is one conditional update behind the mission's gate held exclusive, so it
//! races the streamer, the timers and the objections with exactly one winner, and it waits for
//! the pledges in flight.

use super::{Acting, Target, record};
use crate::channel::moderators::ensure_disinterested;
use crate::events;
use crate::gate::gate_exclusive;
use crate::mission::find;
use crate::mission::transition::{announce, request_signal};
use crate::status::{MissionStatus, OperatorActionKind, Outcome};
use crate::{LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{mission, operator_action};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

/// The statuses an operator can cancel from: every one that is not final.
const CANCELLABLE: [MissionStatus; 5] = [
    MissionStatus::Funding,
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
    // Like a moderator, an operator never decides a mission they staked on.
    ensure_disinterested(&txn, &m, &acting.operator_id).await?;
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
    changes::commit(txn, [mission_id]).await?;
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
    ensure_disinterested(&txn, &m, &acting.operator_id).await?;
    let action = cancel_one(&txn, acting, &m, None).await?;
    changes::commit(txn, [mission_id]).await?;
    Ok((find(db, mission_id).await?, action))
}

/// Why the operators cancelled a mission, as its backers are told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// `cancelMission`'s note, which its operator writes for the backers.
    Note(String),
    /// Cancelled because its streamer was suspended: the suspension's note is about a person
    /// and stays with the operators.
    StreamerSuspended,
}

/// Why the operators cancelled `mission_id` (their latest cancellation of it), if they did.
pub async fn cancel_reason<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Option<CancelReason>, LedgerError> {
    Ok(operator_action::Entity::find()
        .filter(operator_action::Column::MissionId.eq(mission_id))
        .filter(operator_action::Column::Action.eq(OperatorActionKind::CancelMission))
        .order_by_desc(operator_action::Column::CreatedAt)
        .one(db)
        .await?
        .map(|a| match a.cause_id {
            Some(_) => CancelReason::StreamerSuspended,
            None => CancelReason::Note(a.note),
        }))
}

/// Most missions listed per read of the sweep.
const SWEEP_PAGE: u64 = 100;

/// Cancels every mission of `streamer_id` that is not final, as caused by the suspension
/// `cause_id` (already recorded and committed), each in a transaction of its own like any
/// transition (one gate, then the streamer's feed row). The missions are listed behind the
/// streamer's feed row, which `mission::create` holds when it checks for a suspension: a
/// proposal either committed before the listing (and is cancelled here) or sees the
/// suspension and is refused. Returns the cancelled missions' ids.
#[tracing::instrument(name = "db.cancel_missions_of", skip_all)]
pub async fn cancel_missions_of(
    db: &DatabaseConnection,
    acting: &Acting,
    streamer_id: &str,
    cause_id: &str,
) -> Result<Vec<String>, LedgerError> {
    let mut cancelled = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let txn = db.begin().await?;
        if after.is_none() {
            events::hold_feed(&txn, streamer_id).await?;
        }
        let mut open = mission::Entity::find()
            .select_only()
            .column(mission::Column::Id)
            .filter(mission::Column::StreamerId.eq(streamer_id))
            .filter(mission::Column::Status.is_in(CANCELLABLE))
            .order_by_asc(mission::Column::Id)
            .limit(SWEEP_PAGE);
        if let Some(after) = &after {
            open = open.filter(mission::Column::Id.gt(after.as_str()));
        }
        let page: Vec<String> = open.into_tuple().all(&txn).await?;
        txn.commit().await?;
        let Some(last) = page.last().cloned() else {
            return Ok(cancelled);
        };
        for id in page {
            let txn = db.begin().await?;
            gate_exclusive(&txn, &id).await?;
            let m = find(&txn, &id).await?;
            // Read again behind the gate: it may have closed since it was listed.
            if CANCELLABLE.contains(&m.status) {
                cancel_one(&txn, acting, &m, Some(cause_id)).await?;
                changes::commit(txn, [id.as_str()]).await?;
                cancelled.push(id);
            } else {
                txn.commit().await?;
            }
        }
        after = Some(last);
    }
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
