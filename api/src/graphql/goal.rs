//! What a mission shows of its kind and a streamer's goal's stretch tiers (issue 28). A leaf of
//! the schema's object graph; `createGoalMission` is in `goal_mutation`.

use super::context::state;
use super::money::Won;
use crate::error::ApiError;
use async_graphql::{Context, Enum, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::mission_tier;
use missionlink_ledger::mission as domain;

/// What kind of mission it is.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::MissionKind")]
pub enum MissionKind {
    /// A viewer proposed it to the streamer with a first pledge; the streamer accepts it.
    Proposal,
    /// The streamer posted it for their own channel (`createGoalMission`): it starts when it
    /// reaches its `goal`.
    Goal,
}

/// A goal's stretch tier: reached, once and for good, when what the goal holds first comes to
/// its amount.
#[derive(SimpleObject, Clone, Debug)]
pub struct MissionTier {
    /// Its place among the goal's tiers, 1 for the lowest: what `decideMission`'s
    /// `tierReached` names.
    pub level: i32,
    pub amount: Won,
    pub title: String,
    /// When the goal first held its amount; null until then.
    pub reached_at: Option<DateTime<Utc>>,
}

impl From<mission_tier::Model> for MissionTier {
    fn from(t: mission_tier::Model) -> Self {
        Self {
            level: t.position,
            amount: Won(t.amount_won),
            title: t.title,
            reached_at: t.reached_at,
        }
    }
}

/// Mission `id`'s tiers, lowest first: none for a proposal (read only for a goal).
pub(super) async fn tiers_of(
    ctx: &Context<'_>,
    kind: MissionKind,
    id: &str,
) -> Result<Vec<MissionTier>, ApiError> {
    if kind != MissionKind::Goal {
        return Ok(Vec::new());
    }
    let found = domain::tiers(&state(ctx).db.missions, id)
        .await
        .map_err(ApiError::from)?;
    Ok(found.into_iter().map(MissionTier::from).collect())
}
