//! Paying a mission's decided prediction out: [`plan`] computes its [`Shares`] once, in the
//! database; [`settle_page`] pays a page of bets per transaction from them, so a prediction of
//! any size settles in memory bounded by the page; [`finish`] marks it SETTLED or REFUNDED. The
//! paging itself is the [`book`](super::book) a streamer's predictions share.

use super::book::{self, Book, PredictionPage};
use super::payout::Shares;
use crate::status::{MissionStatus, Outcome, PredictionStatus};
use crate::{AccountId, LedgerError, changes};
use chrono::Utc;
use missionlink_entities::missions::{mission, prediction};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};

/// How a decided prediction pays out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementPlan {
    pub shares: Shares<Outcome>,
}

impl SettlementPlan {
    /// Every bet gets its stake back (no verdict, or nobody on the winning side).
    pub fn refunded(&self) -> bool {
        self.shares.winner.is_none()
    }
}

/// Where mission `mission_id`'s bets are: `bets`, paid from `pool:POINTS:<mission>` by
/// `betpayout:<mission>:<bet>`.
pub(crate) fn mission_book(mission_id: &str) -> Book<Outcome> {
    Book {
        table: "bets",
        key_column: "mission_id",
        key: mission_id.to_owned(),
        pool: AccountId::pool(mission_id),
        payout_prefix: "betpayout",
        parse: |s| {
            <Outcome as ActiveEnum>::try_from_value(&s.to_owned())
                .map_err(|_| LedgerError::Corrupt(format!("a bet on the unknown outcome {s}")))
        },
        value: |o| o.as_str().into(),
    }
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
    let shares = book::shares(db, &mission_book(mission_id), winner).await?;
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
    book::pay_page(
        db,
        &mission_book(mission_id),
        &plan.shares,
        after,
        page_size,
    )
    .await
}

/// Marks the prediction SETTLED (or REFUNDED) once every payout is applied; refuses while a
/// bet is still unpaid.
pub async fn finish(
    db: &DatabaseConnection,
    mission_id: &str,
    plan: &SettlementPlan,
) -> Result<(), LedgerError> {
    if !book::all_paid(db, &mission_book(mission_id)).await? {
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
