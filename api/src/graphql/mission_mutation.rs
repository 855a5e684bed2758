//! The mission mutations: `createMission`, `contribute` and the streamer's `acceptMission`,
//! `rejectMission` and `decideMission`. The ledger announces each change to subscribers with its
//! commit; after it, the mission's workflow is handed its outbox entry.

use super::background::hand_to_workflow;
use super::context::{caller, paying_caller, state};
use super::mission::{Mission, Outcome, Pledge};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, ID, InputObject, Object};
use missionlink_identity::{IdentityError, Role};
use missionlink_ledger::channel;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::mission::{self as domain, Evidence, NewMission, StreamerAction};

#[derive(InputObject)]
pub struct CreateMissionInput {
    pub streamer_id: ID,
    pub title: String,
    pub description: Option<String>,
    /// The creator's own first pledge, won.
    pub amount: i32,
    /// Time to complete, counted from acceptance.
    pub duration_seconds: i32,
    /// Accept window; the configured default when omitted.
    pub accept_within_seconds: Option<i32>,
    /// The creator's message with their first pledge (at most 100 characters). A mission's
    /// creator is public, so its first pledge is never anonymous.
    pub message: Option<String>,
}

#[derive(Default)]
pub struct MissionMutation;

#[Object]
impl MissionMutation {
    /// Proposes a mission to a streamer with the caller's first pledge, held in escrow at once.
    async fn create_mission(
        &self,
        ctx: &Context<'_>,
        input: CreateMissionInput,
        idempotency_key: String,
    ) -> GqlResult<Mission> {
        let claims = paying_caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let streamer = app
            .auth
            .user(input.streamer_id.as_str())
            .await
            .map_err(|e| match e {
                IdentityError::NotFound(_) => ApiError::invalid(
                    "streamerId",
                    "streamerId does not name a registered streamer",
                ),
                other => other.into(),
            })?;
        if streamer.role != Role::Streamer {
            return Err(ApiError::invalid(
                "streamerId",
                "streamerId does not name a registered streamer",
            )
            .into());
        }
        let new = NewMission {
            creator_id: claims.sub.clone(),
            streamer_id: streamer.id,
            title: input.title,
            description: input.description,
            amount_won: i64::from(input.amount),
            duration_seconds: i64::from(input.duration_seconds),
            accept_within_seconds: input.accept_within_seconds.map(i64::from),
            message: input.message,
        };
        let created = domain::create(&app.db.missions, &app.settings.missions.rules, &new, &key)
            .await
            .map_err(ApiError::from)?;
        // A replay answers the first mission again; it is not new activity.
        if created.is_new() {
            hand_to_workflow(app, &created.get().id);
            let metrics = missionlink_telemetry::metrics();
            metrics.mission_created();
            metrics.pledge(new.amount_won);
        }
        Ok(Mission::try_from(created.into_inner())?)
    }

    /// Adds the caller's pledge to an open mission. Not for the mission's own streamer. A
    /// `message` (at most 100 characters) is checked against the channel's banned words
    /// (`CONTENT_BLOCKED`) and, where the streamer approves messages by hand, shows once they
    /// approve it; an `anonymous` pledge shows no backer to anyone but its backer.
    async fn contribute(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        amount: i32,
        idempotency_key: String,
        message: Option<String>,
        anonymous: Option<bool>,
    ) -> GqlResult<Pledge> {
        let claims = paying_caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let note = channel::note_for(
            &app.db.missions,
            mission_id.as_str(),
            &claims.sub,
            &key,
            message.as_deref(),
            anonymous.unwrap_or(false),
        )
        .await
        .map_err(ApiError::from)?;
        // Group commit: this pledge shares its commit with the others arriving now.
        let pledged = app
            .pledges
            .contribute(
                mission_id.as_str(),
                &claims.sub,
                i64::from(amount),
                &key,
                note,
            )
            .await
            .map_err(ApiError::from)?;
        if pledged.is_new() {
            missionlink_telemetry::metrics().pledge(pledged.get().amount);
        }
        // A pledge does not concern the workflow (BRIEF §5); the batcher announced a new one to
        // live subscribers with its commit (a replay, not at all).
        Ok(Pledge::try_from(pledged.into_inner())?)
    }

    /// The streamer takes the mission on; its deadline starts now.
    async fn accept_mission(&self, ctx: &Context<'_>, mission_id: ID) -> GqlResult<Mission> {
        act(ctx, &mission_id, StreamerAction::Accept).await
    }

    /// The streamer declines; every backer is refunded.
    async fn reject_mission(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        reason: Option<String>,
    ) -> GqlResult<Mission> {
        act(ctx, &mission_id, StreamerAction::Reject { reason }).await
    }

    /// The streamer's final verdict: SUCCESS pays them (once any objection window ends),
    /// FAILURE refunds every backer. `evidenceUrl` (an https link: a clip, the VOD at the
    /// moment) and `note` (at most 500 characters each) are shown on the mission
    /// (`evidenceUrl`, `verdictNote`) and in the backers' emails; `BAD_USER_INPUT` otherwise.
    /// On a goal's SUCCESS, `tierReached` names the level delivered: 0 the goal, `n` its `n`th
    /// tier (one it reached). The streamer is then paid up to that level's amount and the rest
    /// is refunded to every backer pro rata (the won that rounding leaves over go one each to
    /// the earliest pledges); omitted, everything the goal holds is paid. `BAD_USER_INPUT` on
    /// a proposal, with FAILURE, or for a tier not reached.
    async fn decide_mission(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        outcome: Outcome,
        evidence_url: Option<String>,
        note: Option<String>,
        tier_reached: Option<i32>,
    ) -> GqlResult<Mission> {
        let evidence = Evidence {
            url: evidence_url,
            note,
        };
        act(
            ctx,
            &mission_id,
            StreamerAction::Decide(outcome.into(), evidence, tier_reached),
        )
        .await
    }
}

async fn act(ctx: &Context<'_>, mission_id: &ID, action: StreamerAction) -> GqlResult<Mission> {
    let claims = caller(ctx)?;
    let app = state(ctx);
    let m = domain::act(
        &app.db.missions,
        &app.settings.missions.rules,
        mission_id.as_str(),
        &claims.sub,
        &action,
    )
    .await
    .map_err(ApiError::from)?;
    hand_to_workflow(app, &m.id);
    Ok(Mission::try_from(m)?)
}
