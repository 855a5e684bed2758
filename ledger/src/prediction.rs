//! The prediction game: free points staked on SUCCESS or FAILURE of an accepted mission,
//! paid out parimutuel (winners share the whole pool in proportion to their stakes).
//!
//! Points only, never cash: bets move points from the bettor's POINTS wallet into the
//! prediction's POINTS pool and back, and the transfers' (account, currency) foreign keys make
//! any other path impossible.

use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::mission::{MissionStatus, Outcome};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, account};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{bet, prediction};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Statement, TransactionTrait,
    TryInsertResult,
};
use serde::{Deserialize, Serialize};

/// Most points one user may stake on one prediction, all additions together.
pub const MAX_POINTS_PER_USER: i64 = 250_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PredictionStatus {
    Open,
    Locked,
    Settled,
    Refunded,
}

impl PredictionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PredictionStatus::Open => "OPEN",
            PredictionStatus::Locked => "LOCKED",
            PredictionStatus::Settled => "SETTLED",
            PredictionStatus::Refunded => "REFUNDED",
        }
    }

    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        Ok(match s {
            "OPEN" => PredictionStatus::Open,
            "LOCKED" => PredictionStatus::Locked,
            "SETTLED" => PredictionStatus::Settled,
            "REFUNDED" => PredictionStatus::Refunded,
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "unknown prediction status {other:?}"
                )));
            }
        })
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Failure => "FAILURE",
        }
    }

    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        match s {
            "SUCCESS" => Ok(Outcome::Success),
            "FAILURE" => Ok(Outcome::Failure),
            other => Err(LedgerError::Corrupt(format!("unknown outcome {other:?}"))),
        }
    }
}

/// When betting closes: `window_seconds` after acceptance, never later than the deadline.
pub fn lock_at(
    accepted_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    window_seconds: i64,
) -> DateTime<Utc> {
    std::cmp::min(accepted_at + Duration::seconds(window_seconds), deadline)
}

/// Opens the mission's prediction, inside the acceptance's transaction.
pub(crate) async fn open(
    txn: &DatabaseTransaction,
    mission_id: &str,
    lock_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    account::open(txn, &[AccountId::pool(mission_id)]).await?;
    prediction::Entity::insert(prediction::ActiveModel {
        mission_id: Set(mission_id.to_owned()),
        status: Set(PredictionStatus::Open.as_str().to_owned()),
        lock_at: Set(lock_at),
        settled_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

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
) -> Result<bet::Model, LedgerError> {
    let amount = Amount::within(points, 1, MAX_POINTS_PER_USER)?;
    let canonical = serde_json::json!([mission_id, outcome.as_str(), amount.get()]).to_string();
    let hash = idempotency::request_hash("placeBet", &canonical);
    let txn = db.begin().await?;
    if let Claim::Replay(response) =
        idempotency::claim(&txn, bettor_id, key, "placeBet", &hash).await?
    {
        txn.rollback().await?;
        let r: BetResponse = serde_json::from_str(&response)
            .map_err(|e| LedgerError::Corrupt(format!("stored placeBet response: {e}")))?;
        return bet::Entity::find_by_id(r.bet_id)
            .one(db)
            .await?
            .ok_or_else(|| LedgerError::Corrupt("replayed bet vanished".into()));
    }
    let m = crate::mission::lock_shared(&txn, mission_id).await?;
    if m.streamer_id == bettor_id {
        return Err(LedgerError::Forbidden(
            "a streamer cannot bet on their own mission".into(),
        ));
    }
    let p = prediction::Entity::find_by_id(mission_id.to_owned())
        .one(&txn)
        .await?;
    let now = Utc::now();
    let open = MissionStatus::parse(&m.status)? == MissionStatus::Active
        && p.as_ref()
            .is_some_and(|p| p.status == PredictionStatus::Open.as_str() && now < p.lock_at);
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
        outcome: Set(outcome.as_str().to_owned()),
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
    if existing.outcome != outcome.as_str() {
        return Err(LedgerError::InvalidInput(format!(
            "you already bet on {}; a bet stays on one side",
            existing.outcome
        )));
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
            return Err(LedgerError::InvalidInput(format!(
                "at most {MAX_POINTS_PER_USER} points per user per prediction; you have {} on it",
                existing.points
            )));
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
            kind: "BET",
        },
    )
    .await?;
    let response = serde_json::to_string(&BetResponse {
        bet_id: current.id.clone(),
    })
    .map_err(|e| LedgerError::Corrupt(format!("encode placeBet response: {e}")))?;
    idempotency::complete(&txn, bettor_id, key, &response).await?;
    txn.commit().await?;
    Ok(current)
}

/// Locks the prediction if it is still open.
pub async fn lock(db: &DatabaseConnection, mission_id: &str) -> Result<(), LedgerError> {
    prediction::Entity::update_many()
        .col_expr(
            prediction::Column::Status,
            Expr::value(PredictionStatus::Locked.as_str()),
        )
        .filter(prediction::Column::MissionId.eq(mission_id))
        .filter(prediction::Column::Status.eq(PredictionStatus::Open.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Parimutuel payouts: `stakes` in bet order (earliest first) with their sides. With a winning
/// side that has stakes, each winner gets `floor(stake × pool ÷ winning pool)`, and the points
/// left over by the flooring go one each to the winners with the largest remainders, earliest
/// bet first among equals; losers get 0. With no winner (`None`, or nobody on the winning
/// side), everyone gets their stake back. The payouts always sum to the pool exactly.
pub fn parimutuel(stakes: &[(Outcome, i64)], winner: Option<Outcome>) -> Vec<i64> {
    let pool: i128 = stakes.iter().map(|(_, s)| i128::from(*s)).sum();
    let winning: i128 = stakes
        .iter()
        .filter(|(o, _)| Some(*o) == winner)
        .map(|(_, s)| i128::from(*s))
        .sum();
    if winning == 0 {
        return stakes.iter().map(|(_, s)| *s).collect();
    }
    let mut payouts = vec![0_i128; stakes.len()];
    let mut remainders: Vec<(i128, usize)> = Vec::new();
    for (i, (o, s)) in stakes.iter().enumerate() {
        if Some(*o) == winner {
            let exact = i128::from(*s) * pool;
            payouts[i] = exact / winning;
            remainders.push((exact % winning, i));
        }
    }
    let handed_out: i128 = payouts.iter().sum();
    let mut left = pool - handed_out;
    // Largest remainder first; among equals, the earliest bet.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        payouts[i] += 1;
        left -= 1;
    }
    payouts
        .into_iter()
        .map(|p| i64::try_from(p).unwrap_or(i64::MAX))
        .collect()
}

/// What settling a prediction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionSettlement {
    pub bets: u64,
    pub points_paid: i64,
    pub refunded: bool,
}

/// One bet's settlement, computed by [`plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BetPayout {
    pub bet_id: String,
    pub bettor_id: String,
    pub payout: i64,
}

/// The settlement of a prediction: refunded or not, and the payouts still to apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettlementPlan {
    pub refunded: bool,
    pub pending: Vec<BetPayout>,
}

/// Computes the prediction's payouts after the verdict: parimutuel on SUCCEEDED or FAILED,
/// everyone refunded otherwise (or when nobody backed the winning side). Computed from all bets
/// at once (they are frozen: betting closed before the verdict) and deterministic, so a retry
/// computes the same figures; `pending` holds the bets whose payout is not applied yet.
/// `None` when the mission has no prediction (it was never accepted).
#[tracing::instrument(name = "db.plan_prediction", skip_all)]
pub async fn plan(
    db: &DatabaseConnection,
    mission_id: &str,
) -> Result<Option<SettlementPlan>, LedgerError> {
    if prediction::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let m = crate::mission::find(db, mission_id).await?;
    let winner = match MissionStatus::parse(&m.status)? {
        MissionStatus::Succeeded => Some(Outcome::Success),
        MissionStatus::Failed => Some(Outcome::Failure),
        MissionStatus::Expired | MissionStatus::Rejected => None,
        other => {
            return Err(LedgerError::InvalidState(format!(
                "mission {mission_id} is {other}; a prediction settles after the verdict"
            )));
        }
    };
    let bets = bet::Entity::find()
        .filter(bet::Column::MissionId.eq(mission_id))
        .order_by_asc(bet::Column::Id)
        .all(db)
        .await?;
    let stakes = bets
        .iter()
        .map(|b| Ok((Outcome::parse(&b.outcome)?, b.points)))
        .collect::<Result<Vec<_>, LedgerError>>()?;
    let refunded = winner.is_none_or(|w| !stakes.iter().any(|(o, _)| *o == w));
    let pending = bets
        .into_iter()
        .zip(parimutuel(&stakes, winner))
        .filter(|(b, _)| b.payout.is_none())
        .map(|(b, payout)| BetPayout {
            bet_id: b.id,
            bettor_id: b.bettor_id,
            payout,
        })
        .collect();
    Ok(Some(SettlementPlan { refunded, pending }))
}

/// Applies one page of a [`plan`] in one transaction: the transfer `betpayout:<mission>:<bet>`
/// from the pool to the bettor's POINTS wallet (when the payout is above zero) and the bet's
/// `payout`, together, so a retried page can neither pay twice nor skip a bet.
#[tracing::instrument(name = "db.apply_bet_payouts", skip_all)]
pub async fn apply_payouts(
    db: &DatabaseConnection,
    mission_id: &str,
    refunded: bool,
    page: &[BetPayout],
) -> Result<PredictionSettlement, LedgerError> {
    let txn = db.begin().await?;
    let mut done = PredictionSettlement {
        refunded,
        ..Default::default()
    };
    for b in page {
        if b.payout > 0 {
            transfer::apply(
                &txn,
                &Transfer {
                    id: format!("betpayout:{mission_id}:{}", b.bet_id),
                    debit: AccountId::pool(mission_id),
                    credit: AccountId::wallet(Currency::Points, &b.bettor_id),
                    amount: Amount::new(b.payout)?,
                    kind: if refunded { "BET_REFUND" } else { "BET_PAYOUT" },
                },
            )
            .await?;
        }
        let set = bet::Entity::update_many()
            .col_expr(bet::Column::Payout, Expr::value(b.payout))
            .filter(bet::Column::Id.eq(&b.bet_id))
            .filter(bet::Column::Payout.is_null())
            .exec(&txn)
            .await?;
        if set.rows_affected != 1 {
            return Err(LedgerError::Corrupt(format!(
                "bet {} was settled concurrently",
                b.bet_id
            )));
        }
        done.bets += 1;
        done.points_paid = done.points_paid.saturating_add(b.payout);
    }
    txn.commit().await?;
    Ok(done)
}

/// Marks the prediction SETTLED (or REFUNDED) once every payout is applied.
pub async fn finish(
    db: &DatabaseConnection,
    mission_id: &str,
    refunded: bool,
) -> Result<(), LedgerError> {
    let status = if refunded {
        PredictionStatus::Refunded
    } else {
        PredictionStatus::Settled
    };
    prediction::Entity::update_many()
        .col_expr(prediction::Column::Status, Expr::value(status.as_str()))
        .col_expr(prediction::Column::SettledAt, Expr::value(Utc::now()))
        .filter(prediction::Column::MissionId.eq(mission_id))
        .filter(prediction::Column::SettledAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Live pool totals of a prediction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult)]
pub struct Pools {
    pub success_points: i64,
    pub failure_points: i64,
}

pub async fn pools<C: ConnectionTrait>(db: &C, mission_id: &str) -> Result<Pools, LedgerError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN outcome = 'SUCCESS' THEN points ELSE 0 END), 0) AS BIGINT) AS success_points, \
           CAST(COALESCE(SUM(CASE WHEN outcome = 'FAILURE' THEN points ELSE 0 END), 0) AS BIGINT) AS failure_points \
         FROM bets WHERE mission_id = {}",
        crate::param(backend, 1)
    );
    Ok(Pools::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into()],
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Outcome = Outcome::Success;
    const F: Outcome = Outcome::Failure;

    #[test]
    fn a_worked_example() {
        // Pool 1,000: 300 + 100 on SUCCESS, 600 on FAILURE; SUCCESS wins.
        // 300 × 1000 / 400 = 750, 100 × 1000 / 400 = 250.
        assert_eq!(
            parimutuel(&[(S, 300), (F, 600), (S, 100)], Some(S)),
            vec![750, 0, 250]
        );
        // Pool 10 over three equal winners: 3.33 each, the leftover point to the earliest.
        assert_eq!(
            parimutuel(&[(S, 3), (S, 3), (S, 3), (F, 1)], Some(S)),
            vec![4, 3, 3, 0]
        );
    }

    #[test]
    fn nobody_on_the_winning_side_or_no_verdict_refunds_everyone() {
        assert_eq!(parimutuel(&[(F, 5), (F, 7)], Some(S)), vec![5, 7]);
        assert_eq!(parimutuel(&[(S, 5), (F, 7)], None), vec![5, 7]);
        assert_eq!(parimutuel(&[], Some(S)), Vec::<i64>::new());
    }

    fn side() -> impl Strategy<Value = Outcome> {
        prop_oneof![Just(S), Just(F)]
    }

    proptest! {
        #[test]
        fn payouts_sum_to_the_pool_and_respect_each_share(
            stakes in prop::collection::vec((side(), 1_i64..=MAX_POINTS_PER_USER), 0..300),
            winner in prop::option::of(side()),
        ) {
            let payouts = parimutuel(&stakes, winner);
            let pool: i64 = stakes.iter().map(|(_, s)| s).sum();
            prop_assert_eq!(payouts.iter().sum::<i64>(), pool);
            let winning: i64 = stakes.iter().filter(|(o, _)| Some(*o) == winner).map(|(_, s)| s).sum();
            for ((o, s), p) in stakes.iter().zip(&payouts) {
                if winning == 0 {
                    prop_assert_eq!(p, s);
                } else if Some(*o) == winner {
                    let floor = i128::from(*s) * i128::from(pool) / i128::from(winning);
                    prop_assert!(i128::from(*p) >= floor);
                    prop_assert!(i128::from(*p) <= floor + 1);
                } else {
                    prop_assert_eq!(*p, 0);
                }
            }
            prop_assert_eq!(parimutuel(&stakes, winner), payouts);
        }
    }
}
