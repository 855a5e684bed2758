//! The streamer's transitions (accept, reject, decide) and expiry. Each is one conditional
//! update behind the mission's gate held exclusive, so of two racing transitions exactly one
//! wins, and a transition waits for the pledges in flight.

use super::goal::tiers;
use super::read::find;
use crate::channel::moderators;
use crate::events::{self, NewEvent};
use crate::gate::gate_exclusive;
use crate::prediction::game::{lock_at, open as open_prediction};
use crate::rules::{Evidence, MissionRules, invalid};
use crate::status::{EventKind, MissionKind, MissionStatus, ModerationAction, Outcome};
use crate::{LedgerError, changes};
use chrono::{Duration, Utc};
use missionlink_entities::missions::{mission, workflow_outbox};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

/// A streamer's transition of their own mission.
#[derive(Clone, Debug)]
pub enum StreamerAction {
    Accept,
    Reject {
        reason: Option<String>,
    },
    /// The verdict, with what the streamer shows for it and, on a goal's SUCCESS, the level
    /// delivered (0 the goal, `n` its `n`th tier reached; none: everything it holds is earned).
    Decide(Outcome, Evidence, Option<i32>),
}

/// Longest rejection reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Applies a streamer's action as `actor_id`: the verdict only by the mission's streamer, an
/// acceptance or rejection also by one of their moderators (recorded for the streamer); never
/// by anyone who pledged to or bet on the mission; only from the right status. Returns the
/// mission after the change.
#[tracing::instrument(name = "db.streamer_action", skip_all)]
pub async fn act(
    db: &DatabaseConnection,
    rules: &MissionRules,
    mission_id: &str,
    actor_id: &str,
    action: &StreamerAction,
) -> Result<mission::Model, LedgerError> {
    let m = find(db, mission_id).await?;
    let recorded = match action {
        // The verdict is the streamer's alone.
        StreamerAction::Decide(..) => {
            if m.streamer_id != actor_id {
                return Err(LedgerError::Forbidden(
                    "only the mission's streamer may decide it".into(),
                ));
            }
            None
        }
        StreamerAction::Accept => Some(ModerationAction::Accept),
        StreamerAction::Reject { .. } => Some(ModerationAction::Reject),
    };
    let now = Utc::now();
    let deadline = now + Duration::seconds(m.duration_seconds);
    let mut update = mission::Entity::update_many().filter(mission::Column::Id.eq(mission_id));
    let (from, to) = match action {
        StreamerAction::Accept => {
            update = update
                .col_expr(mission::Column::AcceptedAt, Expr::value(now))
                .col_expr(mission::Column::Deadline, Expr::value(deadline))
                .filter(mission::Column::AcceptBy.gt(now));
            (MissionStatus::Pending, MissionStatus::Active)
        }
        StreamerAction::Reject { reason } => {
            let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
                return Err(invalid(
                    "reason",
                    format!("reason must be at most {MAX_REASON_CHARS} characters"),
                ));
            }
            update = update
                .col_expr(
                    mission::Column::RejectReason,
                    Expr::value(reason.map(str::to_owned)),
                )
                .col_expr(mission::Column::ClosedAt, Expr::value(now));
            (MissionStatus::Pending, MissionStatus::Rejected)
        }
        StreamerAction::Decide(outcome, evidence, tier) => {
            let evidence = evidence.validate()?;
            update = update
                .col_expr(mission::Column::ClosedAt, Expr::value(now))
                .col_expr(mission::Column::TierReached, Expr::value(*tier))
                .col_expr(mission::Column::EvidenceUrl, Expr::value(evidence.url))
                .col_expr(mission::Column::VerdictNote, Expr::value(evidence.note))
                .filter(mission::Column::Deadline.gt(now));
            let to = match outcome {
                // With an objection window, success is first open to the backers' objections.
                Outcome::Success if rules.objection_window_seconds > 0 => {
                    update = update.col_expr(
                        mission::Column::ObjectionUntil,
                        Expr::value(now + Duration::seconds(rules.objection_window_seconds)),
                    );
                    MissionStatus::Verifying
                }
                Outcome::Success => MissionStatus::Succeeded,
                Outcome::Failure => MissionStatus::Failed,
            };
            (MissionStatus::Active, to)
        }
    };
    let txn = db.begin().await?;
    gate_exclusive(&txn, mission_id).await?;
    // Behind the gate: no pledge or bet of the actor's can commit while this is decided.
    match recorded {
        None => moderators::ensure_disinterested(&txn, &m, actor_id).await?,
        Some(_) => moderators::authorize(&txn, &m, actor_id).await?,
    }
    if let StreamerAction::Decide(outcome, _, Some(tier)) = action {
        // Read again behind the gate: no pledge reaches the goal or a tier while this is
        // decided. A mission not ACTIVE now is refused below (INVALID_STATE), whatever the tier.
        let now = find(&txn, mission_id).await?;
        if now.status == MissionStatus::Active {
            check_tier(&txn, &now, *outcome, *tier).await?;
        }
    }
    let changed = update
        .col_expr(mission::Column::Status, Expr::value(to))
        .filter(mission::Column::Status.eq(from))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 1
        && let StreamerAction::Decide(Outcome::Success, _, Some(tier)) = action
    {
        // The tiered verdict's split, fixed now: the pledges are final behind the gate.
        fix_split(&txn, &m, *tier).await?;
    }
    if changed.rows_affected == 1 && to == MissionStatus::Active {
        // Acceptance opens the prediction game on this mission, unless its streamer turned
        // predictions off, for the streamer's window or the platform's.
        let settings = crate::channel::settings::read(&txn, &m.streamer_id).await?;
        if let Some(window) = settings.prediction_window(rules.prediction_window_seconds) {
            open_prediction(&txn, mission_id, lock_at(now, deadline, window), now).await?;
        }
    }
    if changed.rows_affected == 1 {
        // The workflow must hear of it; the outbox keeps that promise if the API dies now.
        request_signal(&txn, mission_id, to, None, now).await?;
        if let Some(action) = recorded {
            moderators::record(&txn, &m, actor_id, action, None).await?;
        }
        announce(&txn, mission_id, &m.streamer_id, to).await?;
    }
    changes::commit(txn, (changed.rows_affected == 1).then_some(mission_id)).await?;
    let after = find(db, mission_id).await?;
    if changed.rows_affected == 1 {
        Ok(after)
    } else {
        Err(LedgerError::InvalidState(format!(
            "mission is {}, this needs it {from}{}",
            after.status,
            if from == MissionStatus::Pending {
                " within its accept window"
            } else {
                " before its deadline"
            }
        )))
    }
}

/// Stores the split of goal `m`'s SUCCESS at `tier` on its row (`tier_held_won`,
/// `tier_refund_won`, `tier_extra_through`), when anything goes back.
async fn fix_split(
    txn: &sea_orm::DatabaseTransaction,
    m: &mission::Model,
    tier: i32,
) -> Result<(), LedgerError> {
    let Some(split) = super::tiered::fix(txn, m, tier).await? else {
        return Ok(());
    };
    let (held, refund, extra) = split.stored();
    mission::Entity::update_many()
        .col_expr(mission::Column::TierHeldWon, Expr::value(held))
        .col_expr(mission::Column::TierRefundWon, Expr::value(refund))
        .col_expr(mission::Column::TierExtraThrough, Expr::value(extra))
        .filter(mission::Column::Id.eq(&m.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Refuses a verdict's `tierReached` unless it is a goal's SUCCESS naming its goal (0) or a
/// tier it reached.
async fn check_tier<C: sea_orm::ConnectionTrait>(
    txn: &C,
    m: &mission::Model,
    outcome: Outcome,
    tier: i32,
) -> Result<(), LedgerError> {
    if m.kind != MissionKind::Goal {
        return Err(invalid(
            "tierReached",
            "tierReached is for a streamer's goal, not a proposal",
        ));
    }
    if outcome != Outcome::Success {
        return Err(invalid("tierReached", "tierReached goes with SUCCESS"));
    }
    let tiers = tiers(txn, &m.id).await?;
    let reached = match usize::try_from(tier) {
        Ok(0) => true,
        Ok(n) => tiers.get(n - 1).is_some_and(|t| t.reached_at.is_some()),
        Err(_) => false,
    };
    if reached {
        Ok(())
    } else {
        Err(invalid(
            "tierReached",
            format!(
                "tierReached must be 0 (the goal) or a tier this goal reached (of {})",
                tiers.len()
            ),
        ))
    }
}

/// Expires the mission if it is still `from` and its moment has passed by this process's
/// clock: PENDING (or a goal FUNDING) once `accept_by` passed, ACTIVE once its deadline passed. The workflow's
/// timer says when to ask; this checks the time itself, so an early or stray call changes
/// nothing. Returns the mission as it is afterwards, expired or not (a streamer's action may
/// have won the race). An ACTIVE mission without a deadline is corrupt, never expired.
#[tracing::instrument(name = "db.expire_mission", skip_all)]
pub async fn expire(
    db: &DatabaseConnection,
    mission_id: &str,
    from: MissionStatus,
) -> Result<mission::Model, LedgerError> {
    let now = Utc::now();
    let mut update = mission::Entity::update_many()
        .col_expr(mission::Column::Status, Expr::value(MissionStatus::Expired))
        .col_expr(mission::Column::ClosedAt, Expr::value(now))
        .filter(mission::Column::Id.eq(mission_id))
        .filter(mission::Column::Status.eq(from));
    update = match from {
        // A proposal's accept window, a goal's funding: both end at `accept_by`.
        MissionStatus::Pending | MissionStatus::Funding => {
            update.filter(mission::Column::AcceptBy.lte(now))
        }
        MissionStatus::Active => {
            let m = find(db, mission_id).await?;
            if m.status == MissionStatus::Active && m.deadline.is_none() {
                return Err(LedgerError::Corrupt(format!(
                    "mission {mission_id} is ACTIVE without a deadline"
                )));
            }
            update.filter(mission::Column::Deadline.lte(now))
        }
        closed => {
            return Err(LedgerError::InvalidState(format!(
                "a {closed} mission does not expire"
            )));
        }
    };
    let txn = db.begin().await?;
    gate_exclusive(&txn, mission_id).await?;
    let expired = update.exec(&txn).await?.rows_affected == 1;
    if expired {
        events::append(
            &txn,
            &[NewEvent {
                mission_id: Some(mission_id),
                prediction_id: None,
                streamer_id: None,
                kind: EventKind::Expired,
                pledge_id: None,
                tier: None,
                test_payload: None,
            }],
        )
        .await?;
    }
    changes::commit(txn, expired.then_some(mission_id)).await?;
    find(db, mission_id).await
}

/// Asks for the mission's workflow to be told of its new status `to`, in the transaction that
/// made the change: the outbox keeps that promise if the process dies after the commit. With
/// an operator action, the workflow hears it as the `operatorAction` signal naming the action.
pub(crate) async fn request_signal<C: sea_orm::ConnectionTrait>(
    txn: &C,
    mission_id: &str,
    to: MissionStatus,
    action_id: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> Result<(), LedgerError> {
    workflow_outbox::Entity::update_many()
        .col_expr(
            workflow_outbox::Column::PendingSignal,
            Expr::value(to.as_str()),
        )
        .col_expr(
            workflow_outbox::Column::PendingAction,
            Expr::value(action_id.map(str::to_owned)),
        )
        .col_expr(workflow_outbox::Column::SignalRequestedAt, Expr::value(now))
        .filter(workflow_outbox::Column::MissionId.eq(mission_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Appends the feed event of the mission's new status `to` to its streamer's feed.
pub(crate) async fn announce<C: sea_orm::ConnectionTrait>(
    txn: &C,
    mission_id: &str,
    streamer_id: &str,
    to: MissionStatus,
) -> Result<(), LedgerError> {
    let kind = match to {
        MissionStatus::Pending | MissionStatus::Funding => return Ok(()),
        MissionStatus::Active => EventKind::Accepted,
        MissionStatus::Verifying => EventKind::Verifying,
        MissionStatus::Disputed => EventKind::Disputed,
        MissionStatus::Succeeded => EventKind::Succeeded,
        MissionStatus::Failed => EventKind::Failed,
        MissionStatus::Expired => EventKind::Expired,
        MissionStatus::Rejected => EventKind::Rejected,
        MissionStatus::Cancelled => EventKind::Cancelled,
        MissionStatus::Withdrawn => EventKind::Withdrawn,
    };
    events::append(
        txn,
        &[NewEvent {
            mission_id: Some(mission_id),
            prediction_id: None,
            streamer_id: Some(streamer_id),
            kind,
            pledge_id: None,
            tier: None,
            test_payload: None,
        }],
    )
    .await?;
    Ok(())
}
