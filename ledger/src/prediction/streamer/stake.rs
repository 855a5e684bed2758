//! Staking points on one outcome of a streamer's prediction.

use super::{BET_PREFIX, outcomes};
use crate::idempotency::{self, Claim, Effect, IdempotencyKey, decode_response, encode_response};
use crate::prediction::MAX_POINTS_PER_USER;
use crate::status::{PredictionStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{prediction_bet, streamer_prediction};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QuerySelect, TransactionTrait, TryInsertResult,
};
use serde::{Deserialize, Serialize};

/// The idempotency operation name of a stake.
const BET_ON_PREDICTION: &str = "betOnPrediction";

#[derive(Serialize, Deserialize)]
struct StakeResponse {
    bet_id: String,
}

/// Stakes `points` on the outcome at `position` for the bettor, at most once per
/// `(bettor, key)`; returns the bettor's stake on the prediction, all additions together.
///
/// Rules: only while betting is open (`INVALID_STATE`); not the streamer (`FORBIDDEN`); an
/// outcome the prediction has (`BAD_USER_INPUT` on `outcomeId`); one outcome per bettor and at
/// most [`MAX_POINTS_PER_USER`] in all (`BAD_USER_INPUT` on `outcomeId` or `points`); within
/// the POINTS wallet (`INSUFFICIENT_FUNDS`). The stake records the outcome's share of the pool
/// before it (its implied probability; with an empty pool, one in the number of outcomes),
/// weighted by points with the bettor's earlier additions. It holds the prediction's row
/// shared (Postgres), so a decision waits for it.
#[tracing::instrument(name = "db.bet_on_prediction", skip_all)]
pub async fn place(
    db: &DatabaseConnection,
    prediction_id: &str,
    bettor_id: &str,
    position: i32,
    points: i64,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> Result<Effect<prediction_bet::Model>, LedgerError> {
    let amount = Amount::within(points, 1, MAX_POINTS_PER_USER)?;
    let canonical = serde_json::json!([prediction_id, position, amount.get()]).to_string();
    let hash = idempotency::request_hash(BET_ON_PREDICTION, &canonical);
    let txn = db.begin().await?;
    if let Claim::Replay(response) =
        idempotency::claim(&txn, bettor_id, key, BET_ON_PREDICTION, &hash).await?
    {
        txn.rollback().await?;
        let r: StakeResponse = decode_response(&response)?;
        return prediction_bet::Entity::find_by_id(r.bet_id)
            .one(db)
            .await?
            .map(Effect::Replayed)
            .ok_or_else(|| LedgerError::Corrupt("replayed stake vanished".into()));
    }
    let mut find = streamer_prediction::Entity::find_by_id(prediction_id.to_owned());
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        find = find.lock(LockType::Share);
    }
    let p = find
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such prediction".into()))?;
    if p.streamer_id == bettor_id {
        return Err(LedgerError::Forbidden(
            "a streamer cannot bet on their own prediction".into(),
        ));
    }
    if p.status != PredictionStatus::Open || p.decision.is_some() || now >= p.lock_at {
        return Err(LedgerError::InvalidState(
            "betting is closed on this prediction".into(),
        ));
    }
    let sides = outcomes(&txn, prediction_id).await?;
    let Some(side) = sides.iter().find(|o| o.position == position) else {
        return Err(LedgerError::invalid(
            "outcomeId",
            "the prediction has no such outcome",
        ));
    };
    let pool: i64 = sides.iter().map(|o| o.points).sum();
    let share_ppm = if pool == 0 {
        1_000_000 / i64::try_from(sides.len()).unwrap_or(1)
    } else {
        side.points * 1_000_000 / pool
    };
    let inserted = prediction_bet::Entity::insert(prediction_bet::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        prediction_id: Set(prediction_id.to_owned()),
        bettor_id: Set(bettor_id.to_owned()),
        outcome: Set(position),
        points: Set(amount.get()),
        implied_ppm: Set(i32::try_from(share_ppm).unwrap_or(1_000_000)),
        payout: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        prediction_bet::Column::PredictionId,
        prediction_bet::Column::BettorId,
    ])
    .exec_without_returning(&txn)
    .await?;
    let existing = prediction_bet::Entity::find()
        .filter(prediction_bet::Column::PredictionId.eq(prediction_id))
        .filter(prediction_bet::Column::BettorId.eq(bettor_id))
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("stake vanished".into()))?;
    if existing.outcome != position {
        return Err(LedgerError::invalid(
            "outcomeId",
            "you already bet on another outcome of this prediction; a bet stays on one outcome",
        ));
    }
    if !matches!(inserted, TryInsertResult::Inserted(1)) {
        // Raise the stake within the per-user limit, its implied share weighted by points, as
        // one conditional update.
        let raised = prediction_bet::Entity::update_many()
            .col_expr(
                prediction_bet::Column::ImpliedPpm,
                Expr::col(prediction_bet::Column::ImpliedPpm)
                    .mul(Expr::col(prediction_bet::Column::Points))
                    .add(share_ppm * amount.get())
                    .div(Expr::col(prediction_bet::Column::Points).add(amount.get())),
            )
            .col_expr(
                prediction_bet::Column::Points,
                Expr::col(prediction_bet::Column::Points).add(amount.get()),
            )
            .filter(prediction_bet::Column::Id.eq(&existing.id))
            .filter(prediction_bet::Column::Points.lte(MAX_POINTS_PER_USER - amount.get()))
            .exec(&txn)
            .await?;
        if raised.rows_affected != 1 {
            return Err(LedgerError::invalid(
                "points",
                format!(
                    "at most {MAX_POINTS_PER_USER} points per user per prediction; you have {} on it",
                    existing.points
                ),
            ));
        }
    }
    transfer::apply(
        &txn,
        &Transfer {
            id: format!("{BET_PREFIX}:{prediction_id}:{bettor_id}:{}", key.as_str()),
            debit: AccountId::wallet(Currency::Points, bettor_id),
            credit: AccountId::prediction_pool(prediction_id),
            amount,
            kind: TransferKind::Bet,
        },
    )
    .await?;
    let current = prediction_bet::Entity::find_by_id(existing.id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("stake vanished".into()))?;
    let response = encode_response(&StakeResponse {
        bet_id: current.id.clone(),
    })?;
    idempotency::complete(&txn, bettor_id, key, &response).await?;
    txn.commit().await?;
    Ok(Effect::New(current))
}
