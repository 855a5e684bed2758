//! `claimDailyPoints` (issue 31, item 1): the game's points, once per Asia/Seoul day, with a
//! streak's bonus. The rules are the ledger's (`prediction::daily`).

use super::context::{caller, state};
use super::money::Points;
use super::types::Wallet;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_ledger::prediction::daily as domain;

/// A daily claim made.
#[derive(SimpleObject, Clone, Debug)]
pub struct DailyClaim {
    /// The Asia/Seoul day claimed, `YYYY-MM-DD`.
    pub day: String,
    /// Consecutive days claimed, this one included.
    pub streak: i32,
    /// `DAILY_POINTS`.
    pub points: Points,
    /// What the streak added: a tenth of `DAILY_POINTS` for each day before today, at most
    /// `DAILY_POINTS_STREAK_MAX`.
    pub bonus: Points,
    /// When the next claim opens: the next Asia/Seoul midnight.
    pub next_claim_at: DateTime<Utc>,
    /// Your balances after it.
    pub wallet: Wallet,
}

#[derive(Default)]
pub struct DailyMutation;

#[Object]
impl DailyMutation {
    /// Claims today's game points: `DAILY_POINTS`, plus a tenth of that for each consecutive
    /// day claimed before today (at most `DAILY_POINTS_STREAK_MAX`), once per Asia/Seoul day.
    /// Points only: never bought, never cash. A second claim the same day is `ALREADY_CLAIMED`
    /// with `extensions.retryAt` (the next midnight); `FORBIDDEN` when the server has no daily
    /// claim (`DAILY_POINTS=0`). The statement shows it as `DAILY_POINTS`.
    async fn claim_daily_points(&self, ctx: &Context<'_>) -> GqlResult<DailyClaim> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let rules = app.settings.missions.daily_points;
        let claimed = domain::claim(&app.db.missions, &claims.sub, rules, Utc::now())
            .await
            .map_err(ApiError::from)?;
        let wallet = missionlink_ledger::wallet::read(&app.db.missions, &claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(DailyClaim {
            day: claimed.day,
            streak: claimed.streak,
            points: Points::of(claimed.points, "daily points")?,
            bonus: Points::of(claimed.bonus, "streak bonus")?,
            next_claim_at: claimed.next_at,
            wallet: Wallet::of(&claims.sub, wallet)?,
        })
    }
}
