//! Placing a bet: points from the bettor's POINTS wallet into the prediction's pool, one side
//! per bettor, within the per-user limit, idempotent per `(bettor, key)`.

use super::game::MAX_POINTS_PER_USER;
use crate::gate::lock_shared;
use crate::idempotency::{self, Claim, Effect, IdempotencyKey, decode_response, encode_response};
use crate::status::{MissionStatus, Outcome, PredictionStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{bet, prediction};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
    TryInsertResult,
};
use serde::{Deserialize, Serialize};

/// The idempotency operation name of a bet.
const PLACE_BET: &str = "placeBet";

#[derive(Serialize, Deserialize)]
struct BetResponse {
    bet_id: String,
}

/// Stakes `points` on `outcome` for the bettor, at most once per `(bettor, key)`.
///
/// Rules: only while the prediction is OPEN and before its lock (`INVALID_STATE`); not the
/// mission's streamer (`FORBIDDEN`); one side per user (`InvalidInput`); at most
/// [`MAX_POINTS_PER_USER`] in all (`InvalidInput`); within the POINTS wallet
/// (`InsufficientFunds`). Like a pledge, the bet holds the mission's gate shared (Postgres), so
/// that a verdict waits for it and settlement sees it.
#[tracing::instrument(name = "db.place_bet", skip_all)]
pub async fn place_bet(
    db: &DatabaseConnection,
    mission_id: &str,
    bettor_id: &str,
    outcome: Outcome,
    points: i64,
    key: &IdempotencyKey,
) -> Result<Effect<bet::Model>, LedgerError> {
    let amount = Amount::within(points, 1, MAX_POINTS_PER_USER)?;
    let canonical = serde_json::json!([mission_id, outcome.as_str(), amount.get()]).to_string();
    let hash = idempotency::request_hash(PLACE_BET, &canonical);
    let txn = db.begin().await?;
    if let Claim::Replay(response) =
        idempotency::claim(&txn, bettor_id, key, PLACE_BET, &hash).await?
    {
        txn.rollback().await?;
        let r: BetResponse = decode_response(&response)?;
        return bet::Entity::find_by_id(r.bet_id)
            .one(db)
            .await?
            .map(Effect::Replayed)
            .ok_or_else(|| LedgerError::Corrupt("replayed bet vanished".into()));
    }
    let m = lock_shared(&txn, mission_id).await?;
    if m.streamer_id == bettor_id {
        return Err(LedgerError::Forbidden(
            "a streamer cannot bet on their own mission".into(),
        ));
    }
    let p = prediction::Entity::find_by_id(mission_id.to_owned())
        .one(&txn)
        .await?;
    let now = Utc::now();
    let open = m.status == MissionStatus::Active
        && p.as_ref()
            .is_some_and(|p| p.status == PredictionStatus::Open && now < p.lock_at);
    if !open {
        return Err(LedgerError::InvalidState(
            "betting is not open on this mission".into(),
        ));
    }
    // The bettor's own row: created on the first bet, raised on the next, on one side only.
    let inserted = bet::Entity::insert(bet::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        mission_id: Set(mission_id.to_owned()),
        bettor_id: Set(bettor_id.to_owned()),
        outcome: Set(outcome),
        points: Set(amount.get()),
        payout: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([bet::Column::MissionId, bet::Column::BettorId])
    .exec_without_returning(&txn)
    .await?;
    let existing = bet::Entity::find()
        .filter(bet::Column::MissionId.eq(mission_id))
        .filter(bet::Column::BettorId.eq(bettor_id))
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("bet vanished".into()))?;
    if existing.outcome != outcome {
        return Err(LedgerError::invalid(
            "outcome",
            format!(
                "you already bet on {}; a bet stays on one side",
                existing.outcome
            ),
        ));
    }
    let current = if matches!(inserted, TryInsertResult::Inserted(1)) {
        existing
    } else {
        // Raise the bet, within the per-user limit, as one conditional update.
        let raised = bet::Entity::update_many()
            .col_expr(
                bet::Column::Points,
                Expr::col(bet::Column::Points).add(amount.get()),
            )
            .filter(bet::Column::Id.eq(&existing.id))
            .filter(bet::Column::Points.lte(MAX_POINTS_PER_USER - amount.get()))
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
        bet::Entity::find_by_id(existing.id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| LedgerError::Corrupt("bet vanished".into()))?
    };
    transfer::apply(
        &txn,
        &Transfer {
            id: format!("bet:{mission_id}:{bettor_id}:{}", key.as_str()),
            debit: AccountId::wallet(Currency::Points, bettor_id),
            credit: AccountId::pool(mission_id),
            amount,
            kind: TransferKind::Bet,
        },
    )
    .await?;
    let response = encode_response(&BetResponse {
        bet_id: current.id.clone(),
    })?;
    idempotency::complete(&txn, bettor_id, key, &response).await?;
    // The pool totals changed.
    changes::commit(txn, [mission_id]).await?;
    Ok(Effect::New(current))
}
