//! `createGoalMission` (issue 28): a streamer's goal for their own channel.

use super::background::hand_to_workflow;
use super::context::{state, streamer_caller};
use super::mission::Mission;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::mission::{self as domain, NewGoal, NewTier};

/// A stretch tier as asked for.
#[derive(InputObject)]
pub struct GoalTierInput {
    /// Won; above the goal and above the tier before it.
    pub amount: i32,
    /// At most 100 characters, one line.
    pub title: String,
}

#[derive(InputObject)]
pub struct CreateGoalMissionInput {
    pub title: String,
    pub description: Option<String>,
    /// Won, within the pledge bounds (`platform.pledgeMin` to `platform.pledgeMax`).
    pub goal: i32,
    /// At most 5, ascending, each above the goal.
    pub tiers: Vec<GoalTierInput>,
    /// When funding ends if the goal is not reached (then every backer is refunded):
    /// `GOAL_FUNDING_MIN_SECONDS` (10 minutes) to `GOAL_FUNDING_MAX_SECONDS` (7 days) away.
    pub funding_ends_at: DateTime<Utc>,
    /// Time to complete, counted from the moment the goal is reached.
    pub duration_seconds: i32,
}

#[derive(Default)]
pub struct GoalMutation;

#[Object]
impl GoalMutation {
    /// Posts a goal for your own channel (streamers only; `FORBIDDEN` otherwise), with no
    /// pledge of your own: it is `FUNDING` and takes your viewers' pledges. Reaching `goal`
    /// makes it `ACTIVE` (feed `GOAL_REACHED`; its deadline counts from then); each tier
    /// reached after is `TIER_REACHED`. Not reached by `fundingEndsAt`, it `EXPIRED` and every
    /// backer is refunded. At most `MAX_OPEN_GOALS` not yet settled (`OPEN_GOALS_LIMIT`); a
    /// suspended streamer posts none (`STREAMER_SUSPENDED`); bad input is `BAD_USER_INPUT`.
    /// The same `idempotencyKey` answers the first goal again, whenever it is sent.
    async fn create_goal_mission(
        &self,
        ctx: &Context<'_>,
        input: CreateGoalMissionInput,
        idempotency_key: String,
    ) -> GqlResult<Mission> {
        let claims = streamer_caller(ctx, "only streamers post goals")?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let new = NewGoal {
            streamer_id: claims.sub.clone(),
            title: input.title,
            description: input.description,
            goal_won: i64::from(input.goal),
            tiers: input
                .tiers
                .into_iter()
                .map(|t| NewTier {
                    amount_won: i64::from(t.amount),
                    title: t.title,
                })
                .collect(),
            funding_ends_at: input.funding_ends_at,
            duration_seconds: i64::from(input.duration_seconds),
        };
        let created =
            domain::create_goal(&app.db.missions, &app.settings.missions.rules, &new, &key)
                .await
                .map_err(ApiError::from)?;
        if created.is_new() {
            hand_to_workflow(app, &created.get().id);
            missionlink_telemetry::metrics().mission_created();
        }
        Ok(Mission::try_from(created.into_inner())?)
    }
}
