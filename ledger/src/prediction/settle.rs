//! Paying a decided prediction out: [`plan`] computes its [`Shares`] once, in the database;
//! [`settle_page`] pays a page of bets per transaction from them, so a prediction of any size
//! settles in memory bounded by the page; [`finish`] marks it SETTLED or REFUNDED.

use super::game::pools;
use super::payout::{Shares, ensure_settleable};
use crate::sql::{json_rows, row_count};
use crate::status::{MissionStatus, Outcome, PredictionStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{bet, mission, prediction};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};

/// How a decided prediction pays out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementPlan {
    pub shares: Shares,
}

impl SettlementPlan {
    /// Every bet gets its stake back (no verdict, or nobody on the winning side).
    pub fn refunded(&self) -> bool {
        self.shares.winner.is_none()
    }
}

/// What one page of a prediction's settlement did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PredictionPage {
    pub bets: u64,
    pub points_paid: i64,
    /// The page's last bet: the next page starts after it.
    pub last_bet_id: Option<String>,
}

#[derive(FromQueryResult)]
struct Figure {
    value: i64,
}

#[derive(FromQueryResult)]
struct Ranked {
    id: String,
    remainder: i64,
}

/// The prediction's shares after the verdict: parimutuel on SUCCEEDED or FAILED, everyone
/// refunded otherwise (or when nobody backed the winning side). The bets are frozen (betting
/// closed before the verdict), so a retry computes the same figures. `None` when the mission
/// has no prediction (it was never accepted).
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
    let m = mission::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such mission".into()))?;
    let winner = match m.status {
        MissionStatus::Succeeded => Some(Outcome::Success),
        MissionStatus::Failed => Some(Outcome::Failure),
        MissionStatus::Expired
        | MissionStatus::Rejected
        | MissionStatus::Cancelled
        | MissionStatus::Withdrawn => None,
        other => {
            return Err(LedgerError::InvalidState(format!(
                "mission {mission_id} is {other}; a prediction settles after the verdict"
            )));
        }
    };
    let sides = pools(db, mission_id).await?;
    let pool = sides
        .success_points
        .checked_add(sides.failure_points)
        .ok_or_else(|| LedgerError::InvalidAmount("prediction pool overflows".into()))?;
    let winning = match winner {
        Some(Outcome::Success) => sides.success_points,
        Some(Outcome::Failure) => sides.failure_points,
        None => 0,
    };
    let Some(winner) = winner.filter(|_| winning > 0) else {
        return Ok(Some(SettlementPlan {
            shares: Shares::refund(),
        }));
    };
    ensure_settleable(pool)?;
    let backend = db.get_database_backend();
    let p = |i: usize| crate::sql::param(backend, i);
    let values = || -> Vec<sea_orm::Value> {
        vec![
            pool.into(),
            winning.into(),
            mission_id.into(),
            winner.as_str().into(),
        ]
    };
    let floors = Figure::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT CAST(COALESCE(SUM((points * {}) / {}), 0) AS BIGINT) AS value \
             FROM bets WHERE mission_id = {} AND outcome = {}",
            p(1),
            p(2),
            p(3),
            p(4)
        ),
        values(),
    ))
    .one(db)
    .await?
    .map_or(0, |f| f.value);
    let left = pool - floors;
    assert!(
        (0..=winning).contains(&left),
        "flooring left {left} of a {pool}-point pool"
    );
    let mut shares = Shares {
        winner: Some(winner),
        pool,
        winning,
        last_bonus: None,
    };
    if left > 0 {
        let mut ranked_values = values();
        ranked_values.push((left - 1).into());
        let last = Ranked::find_by_statement(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT id, CAST((points * {}) % {} AS BIGINT) AS remainder \
                 FROM bets WHERE mission_id = {} AND outcome = {} \
                 ORDER BY remainder DESC, id{} ASC LIMIT 1 OFFSET {}",
                p(1),
                p(2),
                p(3),
                p(4),
                // Ids in byte order, as `Shares::payout` compares them.
                if backend == DatabaseBackend::Postgres {
                    " COLLATE \"C\""
                } else {
                    ""
                },
                p(5)
            ),
            ranked_values,
        ))
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt(format!("fewer than {left} winning bets")))?;
        shares.last_bonus = Some((last.remainder, last.id));
    }
    Ok(Some(SettlementPlan { shares }))
}

/// Pays up to `page_size` unpaid bets after `after`, in one transaction: the transfer
/// `betpayout:<mission>:<bet>` from the pool to the bettor's POINTS wallet (when the payout is
/// above zero) and the bet's `payout`, together, so a retried page can neither pay twice nor
/// skip a bet. Zero bets means every bet after `after` is paid.
#[tracing::instrument(name = "db.settle_prediction_page", skip_all)]
pub async fn settle_page(
    db: &DatabaseConnection,
    mission_id: &str,
    plan: &SettlementPlan,
    after: Option<&str>,
    page_size: u64,
) -> Result<PredictionPage, LedgerError> {
    let txn = db.begin().await?;
    let mut query = bet::Entity::find()
        .filter(bet::Column::MissionId.eq(mission_id))
        .filter(bet::Column::Payout.is_null())
        .order_by_asc(bet::Column::Id)
        .limit(page_size);
    if let Some(after) = after {
        query = query.filter(bet::Column::Id.gt(after));
    }
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // A retry racing a slow first attempt takes other bets instead of waiting.
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let bets = query.all(&txn).await?;
    let kind = if plan.refunded() {
        TransferKind::BetRefund
    } else {
        TransferKind::BetPayout
    };
    let mut page = PredictionPage {
        last_bet_id: bets.last().map(|b| b.id.clone()),
        ..PredictionPage::default()
    };
    let mut transfers = Vec::with_capacity(bets.len());
    let mut payouts = Vec::with_capacity(bets.len());
    for b in &bets {
        let payout = plan.shares.payout(b.outcome, b.points, &b.id);
        if payout > 0 {
            transfers.push(Transfer {
                id: format!("betpayout:{mission_id}:{}", b.id),
                debit: AccountId::pool(mission_id),
                credit: AccountId::wallet(Currency::Points, &b.bettor_id),
                amount: Amount::new(payout)?,
                kind,
            });
        }
        payouts.push((b.id.as_str(), payout));
        page.bets += 1;
        page.points_paid = page
            .points_paid
            .checked_add(payout)
            .ok_or_else(|| LedgerError::Corrupt("bet payouts overflow".into()))?;
    }
    if bets.is_empty() {
        return Ok(page);
    }
    transfer::apply_new_batch(&txn, &transfers).await?;
    let set = record_payouts(&txn, &payouts).await?;
    if set != page.bets {
        return Err(LedgerError::Contended(format!(
            "settling the prediction of mission {mission_id}: {} of {} bets were paid concurrently",
            page.bets - set,
            page.bets
        )));
    }
    txn.commit().await?;
    Ok(page)
}

/// Sets each bet's `payout` if it has none yet; returns how many were set. On Postgres one
/// statement with the page as one JSON parameter; elsewhere one update per bet.
async fn record_payouts<C: ConnectionTrait>(
    txn: &C,
    payouts: &[(&str, i64)],
) -> Result<u64, LedgerError> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        let rows = json_rows(
            payouts
                .iter()
                .map(|(id, payout)| serde_json::json!({ "id": id, "payout": payout })),
        );
        // `LIMIT $2` tells the planner how many rows the JSON holds (see `sql::row_count`).
        let set = txn
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "UPDATE bets AS b SET payout = d.payout \
                 FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(id text, payout bigint) \
                       LIMIT $2) AS d \
                 WHERE b.id = d.id AND b.payout IS NULL",
                [rows, row_count(payouts.len())],
            ))
            .await?;
        return Ok(set.rows_affected());
    }
    let mut set = 0;
    for (id, payout) in payouts {
        set += bet::Entity::update_many()
            .col_expr(bet::Column::Payout, Expr::value(*payout))
            .filter(bet::Column::Id.eq(*id))
            .filter(bet::Column::Payout.is_null())
            .exec(txn)
            .await?
            .rows_affected;
    }
    Ok(set)
}

/// Marks the prediction SETTLED (or REFUNDED) once every payout is applied; refuses while a
/// bet is still unpaid.
pub async fn finish(
    db: &DatabaseConnection,
    mission_id: &str,
    plan: &SettlementPlan,
) -> Result<(), LedgerError> {
    let unpaid = bet::Entity::find()
        .filter(bet::Column::MissionId.eq(mission_id))
        .filter(bet::Column::Payout.is_null())
        .limit(1)
        .all(db)
        .await?;
    if !unpaid.is_empty() {
        return Err(LedgerError::Contended(format!(
            "the prediction of mission {mission_id} still has unpaid bets"
        )));
    }
    let status = if plan.refunded() {
        PredictionStatus::Refunded
    } else {
        PredictionStatus::Settled
    };
    let txn = db.begin().await?;
    let finished = prediction::Entity::update_many()
        .col_expr(prediction::Column::Status, Expr::value(status))
        .col_expr(prediction::Column::SettledAt, Expr::value(Utc::now()))
        .filter(prediction::Column::MissionId.eq(mission_id))
        .filter(prediction::Column::SettledAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    changes::commit(txn, finished.then_some(mission_id)).await?;
    Ok(())
}
