//! Where a user stands with the game's daily points (issue 31, item 1): `Wallet.dailyPoints`.
//! The claim itself is `daily_claim.rs`; the rules are the ledger's (`prediction::daily`).

use super::context::state;
use super::money::Points;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_ledger::prediction::daily as domain;

/// Where you stand with the daily claim.
#[derive(SimpleObject, Clone, Debug)]
pub struct DailyPoints {
    /// Whether today's (Asia/Seoul) claim is made.
    pub claimed_today: bool,
    /// Your streak: today's, or yesterday's while a claim today continues it (0 when neither
    /// day was claimed).
    pub streak: i32,
    /// When you may claim next: now, or the next Asia/Seoul midnight (on a server without the
    /// daily claim, `DAILY_POINTS=0`, now, though a claim is `FORBIDDEN`: `claimable` is 0).
    pub next_claim_at: DateTime<Utc>,
    /// What a claim now grants, the streak's bonus included (0 once today's is made).
    pub claimable: Points,
}

/// Where `user_id` stands with the claim now.
pub(super) async fn standing(ctx: &Context<'_>, user_id: &str) -> GqlResult<DailyPoints> {
    let app = state(ctx);
    let rules = app.settings.missions.daily_points;
    let s = domain::standing(&app.db.missions, user_id, Utc::now())
        .await
        .map_err(ApiError::from)?;
    let claimable = if s.claimed_today || rules.points <= 0 {
        0
    } else {
        rules.grant(s.streak.saturating_add(1))
    };
    Ok(DailyPoints {
        claimed_today: s.claimed_today,
        streak: s.streak,
        next_claim_at: s.next_at,
        claimable: Points::of(claimable, "claimable points")?,
    })
}
