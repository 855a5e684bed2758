//! The game's leaderboards of a streamer's channel (issue 31, item 5): `topPredictors` (by
//! points won) and `calibrationBoard` (by being right against the crowd's odds, not by betting
//! big). The rules are the ledger's (`prediction::boards`).

use super::context::state;
use super::money::Points;
use super::user::{User, load_users};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{Duration, Utc};
use missionlink_identity::Role;
use missionlink_ledger::prediction::boards;

/// Most rows a board returns.
pub const MAX_BOARD: i32 = 50;
/// Rows a board returns when `first` is not given.
pub const DEFAULT_BOARD: i32 = 10;

/// Which settled predictions `topPredictors` counts: those paid out within the last day, 7
/// days, 30 days, or ever.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictorPeriod {
    Day,
    Week,
    Month,
    AllTime,
}

/// A viewer on `topPredictors`.
#[derive(SimpleObject, Clone, Debug)]
pub struct TopPredictor {
    /// 1 first.
    pub rank: i32,
    pub user: User,
    /// Payouts minus stakes over the period (above zero: only those ahead are listed).
    pub points_won: Points,
    /// Settled predictions they bet on in the period.
    pub predictions: i32,
    /// Of those, the ones they picked the winner of.
    pub correct: i32,
}

/// A viewer on `calibrationBoard`.
#[derive(SimpleObject, Clone, Debug)]
pub struct CalibratedPredictor {
    /// 1 first.
    pub rank: i32,
    pub user: User,
    /// Their picks on the streamer's settled predictions.
    pub predictions: i32,
    /// Of those, the ones that won.
    pub correct: i32,
    /// What the board ranks by: the crowd's Brier score on their picks minus theirs,
    /// `crowdBrier − brierScore`. Above zero: better than the pools' odds.
    pub brier_skill: f64,
    /// Mean `(p − o)²` over their picks: `p` the pick's pool share when they bet, `o` 1 if it
    /// won.
    pub crowd_brier: f64,
    /// Mean `(1 − o)²`: the Brier score of picking (the share of their picks that lost).
    pub brier_score: f64,
}

fn first_of(first: Option<i32>) -> Result<u64, ApiError> {
    let first = first.unwrap_or(DEFAULT_BOARD);
    if !(1..=MAX_BOARD).contains(&first) {
        return Err(missionlink_ledger::LedgerError::invalid(
            "first",
            format!("first must be 1 to {MAX_BOARD}"),
        )
        .into());
    }
    Ok(u64::try_from(first).unwrap_or(10))
}

/// The board's users, in its order, in one batched read.
async fn users_of(
    ctx: &Context<'_>,
    ids: impl Iterator<Item = String>,
) -> Result<Vec<User>, ApiError> {
    let ids: Vec<String> = ids.collect();
    load_users(ctx, &ids, Role::Viewer).await
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[derive(Default)]
pub struct PredictionBoardQuery;

#[Object]
impl PredictionBoardQuery {
    /// The streamer's viewers by points won on their predictions (the missions' and the
    /// streamer's own) settled in `period` (default WEEK): payouts minus stakes, those ahead
    /// only, most first; `first` 1 to 50 (default 10).
    async fn top_predictors(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
        #[graphql(default_with = "PredictorPeriod::Week")] period: PredictorPeriod,
        first: Option<i32>,
    ) -> GqlResult<Vec<TopPredictor>> {
        let limit = first_of(first)?;
        let since = match period {
            PredictorPeriod::Day => Utc::now() - Duration::days(1),
            PredictorPeriod::Week => Utc::now() - Duration::days(7),
            PredictorPeriod::Month => Utc::now() - Duration::days(30),
            PredictorPeriod::AllTime => chrono::DateTime::UNIX_EPOCH,
        };
        let rows = boards::top_predictors(&state(ctx).db.missions, &streamer_id, since, limit)
            .await
            .map_err(ApiError::from)?;
        let users = users_of(ctx, rows.iter().map(|r| r.user_id.clone())).await?;
        let mut board = Vec::with_capacity(rows.len());
        for ((rank, r), user) in (1..).zip(rows).zip(users) {
            board.push(TopPredictor {
                rank,
                user,
                points_won: Points::of(r.points_won, "pointsWon")?,
                predictions: count(r.predictions),
                correct: count(r.correct),
            });
        }
        Ok(board)
    }

    /// The streamer's viewers ranked by being right, not by betting big: each pick on the
    /// streamer's own settled predictions scores the crowd's Brier score for it, `(p − o)²`,
    /// minus the picker's, `(1 − o)²` (`p` the picked outcome's pool share when they bet, `o`
    /// 1 if it won), whatever the stake; ranked by the mean (`brierSkill`, most first), among
    /// viewers with at least `CALIBRATION_MIN_PREDICTIONS` picks. `first` 1 to 50 (default 10).
    async fn calibration_board(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
        first: Option<i32>,
    ) -> GqlResult<Vec<CalibratedPredictor>> {
        let limit = first_of(first)?;
        let app = state(ctx);
        let min = app
            .settings
            .missions
            .predictions
            .calibration_min_predictions;
        let rows = boards::calibration(&app.db.missions, &streamer_id, min, limit)
            .await
            .map_err(ApiError::from)?;
        let users = users_of(ctx, rows.iter().map(|r| r.user_id.clone())).await?;
        let mut board = Vec::with_capacity(rows.len());
        for ((rank, r), user) in (1..).zip(rows).zip(users) {
            board.push(CalibratedPredictor {
                rank,
                user,
                predictions: count(r.predictions),
                correct: count(r.correct),
                brier_skill: r.skill,
                crowd_brier: r.crowd_brier,
                brier_score: r.brier,
            });
        }
        Ok(board)
    }
}
