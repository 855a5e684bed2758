//! Locking, resolving and cancelling a streamer's prediction.

use super::{authorize, commit, feed};
use crate::LedgerError;
use crate::status::{EventKind, PredictionDecision, PredictionStatus};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{prediction_bet, prediction_outcome, streamer_prediction};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};

/// What the streamer's side does to a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Close betting now; the result comes later.
    Lock,
    /// The outcome at this position won: parimutuel payout.
    Resolve(i32),
    /// Every stake back.
    Cancel,
}

/// Does `decision` to prediction `id` as `actor_id`, at `now`; returns the prediction as it is
/// after. Any of them closes betting at once: the update waits for bets in flight (they hold
/// the prediction's row shared), and a bet after it finds betting closed.
///
/// Refusals: no such prediction (`NOT_FOUND`); an actor who is neither the streamer nor their
/// moderator (`FORBIDDEN`); resolving or cancelling by someone who bet on it
/// (`CONFLICT_OF_INTEREST`); an outcome it does not have (`BAD_USER_INPUT` on `outcomeId`); a
/// prediction already decided or past its `resolve_by` (`INVALID_STATE`; locking a locked one
/// changes nothing). A resolved or cancelled prediction is then paid out by
/// [`settle`](super::settle).
#[tracing::instrument(name = "db.decide_prediction", skip_all)]
pub async fn decide(
    db: &DatabaseConnection,
    id: &str,
    actor_id: &str,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<streamer_prediction::Model, LedgerError> {
    let txn = db.begin().await?;
    // The row first, written (a write that changes nothing): bets in flight hold it shared, so
    // this waits for them, and on SQLite it takes the write lock before anything is read.
    streamer_prediction::Entity::update_many()
        .col_expr(
            streamer_prediction::Column::Status,
            Expr::col(streamer_prediction::Column::Status),
        )
        .filter(streamer_prediction::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let p = streamer_prediction::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such prediction".into()))?;
    authorize(&txn, &p.streamer_id, actor_id).await?;
    if let Some(decided) = p.decision {
        return Err(LedgerError::InvalidState(format!(
            "the prediction is already decided ({decided})"
        )));
    }
    let recorded = match decision {
        Decision::Lock if p.status == PredictionStatus::Locked => None,
        Decision::Lock => Some(None),
        Decision::Resolve(position) => {
            let known = prediction_outcome::Entity::find_by_id((id.to_owned(), position))
                .one(&txn)
                .await?
                .is_some();
            if !known {
                return Err(LedgerError::invalid(
                    "outcomeId",
                    "the prediction has no such outcome",
                ));
            }
            Some(Some((PredictionDecision::Resolved, Some(position))))
        }
        Decision::Cancel => Some(Some((PredictionDecision::Cancelled, None))),
    };
    let Some(decided) = recorded else {
        txn.commit().await?;
        return Ok(p);
    };
    if now >= p.resolve_by {
        return Err(LedgerError::InvalidState(
            "the prediction waited past its resolveBy: it expires, every stake back".into(),
        ));
    }
    if decided.is_some() {
        let bet = prediction_bet::Entity::find()
            .filter(prediction_bet::Column::PredictionId.eq(id))
            .filter(prediction_bet::Column::BettorId.eq(actor_id))
            .count(&txn)
            .await?;
        if bet > 0 {
            return Err(LedgerError::Refused {
                code: "CONFLICT_OF_INTEREST",
                message: "you bet on this prediction, so you cannot resolve or cancel it".into(),
                retry_at: None,
            });
        }
    }
    let mut update = streamer_prediction::Entity::update_many()
        .col_expr(
            streamer_prediction::Column::Status,
            Expr::value(PredictionStatus::Locked),
        )
        .col_expr(
            streamer_prediction::Column::LockAt,
            Expr::value(p.lock_at.min(now)),
        )
        .filter(streamer_prediction::Column::Id.eq(id))
        .filter(streamer_prediction::Column::Decision.is_null());
    if let Some((kind, winner)) = decided {
        update = update
            .col_expr(streamer_prediction::Column::Decision, Expr::value(kind))
            .col_expr(
                streamer_prediction::Column::WinningOutcome,
                Expr::value(winner),
            )
            .col_expr(
                streamer_prediction::Column::DecidedBy,
                Expr::value(actor_id.to_owned()),
            )
            .col_expr(streamer_prediction::Column::DecidedAt, Expr::value(now));
    }
    if update.exec(&txn).await?.rows_affected != 1 {
        return Err(LedgerError::InvalidState(
            "the prediction was decided meanwhile".into(),
        ));
    }
    let after = streamer_prediction::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("the prediction vanished".into()))?;
    let closed = p.status == PredictionStatus::Open;
    let appended = feed(&txn, &after, EventKind::PredictionLocked, closed).await?;
    commit(db, txn, appended, after.mission_id.as_deref()).await?;
    Ok(after)
}
