//! The made-up objects of a streamer's test event (issue 29, item 2): a mission and, for the
//! kinds that carry one, a pledge, as an overlay or a bot would show them. They are stored with
//! the event (`mission_events.test_payload`, JSON) and read back from there: nothing of them is
//! a stored mission, pledge, total or count, and no money moves.

use super::mission::{Mission, Pledge};
use super::user::User;
use crate::error::ApiError;
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{mission, pledge};
use missionlink_identity::Locale;
use missionlink_ledger::mission::{Holdings, Totals};
use missionlink_ledger::status::{
    EventKind, MessageStatus, MissionKind, MissionStatus, PledgeStatus,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a test event shows, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestPayload {
    title: String,
    status: String,
    kind: String,
    goal_won: Option<i64>,
    total_won: i64,
    backers: i64,
    held_won: i64,
    accept_by: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    pledge: Option<TestPledge>,
}

/// A test event's pledge.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TestPledge {
    amount_won: i64,
    message: String,
    backer_name: String,
}

/// The id every test event's backer has.
pub const TEST_BACKER: &str = "test-backer";

/// What a test event of `kind` shows, in the streamer's `locale`, and the tier it names.
pub fn payload(kind: EventKind, locale: Locale, now: DateTime<Utc>) -> (TestPayload, Option<i32>) {
    use EventKind as K;
    let status = match kind {
        K::Created | K::Pledged | K::MessageApproved | K::MessageHidden | K::PledgeWithdrawn => {
            MissionStatus::Pending
        }
        K::Accepted
        | K::GoalReached
        | K::TierReached
        | K::PredictionOpened
        | K::PredictionLocked
        | K::PredictionResolved => MissionStatus::Active,
        K::Rejected => MissionStatus::Rejected,
        K::Succeeded | K::Settled => MissionStatus::Succeeded,
        K::Failed => MissionStatus::Failed,
        K::Expired => MissionStatus::Expired,
        K::Verifying => MissionStatus::Verifying,
        K::Disputed => MissionStatus::Disputed,
        K::Cancelled => MissionStatus::Cancelled,
        K::Withdrawn => MissionStatus::Withdrawn,
    };
    let goal = matches!(kind, K::GoalReached | K::TierReached);
    let with_pledge = matches!(
        kind,
        K::Created | K::Pledged | K::MessageApproved | K::MessageHidden | K::PledgeWithdrawn
    );
    let (title, message, backer) = match locale {
        Locale::Ko => (
            "테스트 미션: 후렴 한 소절 부르기",
            "테스트 알림입니다. 돈은 오가지 않았어요.",
            "MissionLink 테스트",
        ),
        Locale::En => (
            "Test mission: sing the chorus",
            "This is a test alert. No money moved.",
            "MissionLink test",
        ),
    };
    let held_won = if matches!(
        status,
        MissionStatus::Pending | MissionStatus::Active | MissionStatus::Verifying
    ) {
        12_000
    } else {
        0
    };
    let payload = TestPayload {
        title: title.to_owned(),
        status: status.as_str().to_owned(),
        kind: if goal {
            MissionKind::Goal
        } else {
            MissionKind::Proposal
        }
        .as_str()
        .to_owned(),
        goal_won: goal.then_some(10_000),
        total_won: 12_000,
        backers: 3,
        held_won,
        accept_by: now + Duration::minutes(10),
        deadline: (status == MissionStatus::Active).then(|| now + Duration::hours(1)),
        created_at: now,
        pledge: with_pledge.then(|| TestPledge {
            amount_won: 5_000,
            message: message.to_owned(),
            backer_name: backer.to_owned(),
        }),
    };
    (payload, (kind == K::TierReached).then_some(1))
}

/// The payload as stored, or why it cannot be read.
pub fn parse(json: &str) -> Result<TestPayload, ApiError> {
    serde_json::from_str(json)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a test event's payload: {e}")))
}

fn stored<E: Copy>(all: &[E], text: &str, name: fn(E) -> &'static str) -> Result<E, ApiError> {
    all.iter()
        .copied()
        .find(|v| name(*v) == text)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a test event's {text}")))
}

impl TestPayload {
    /// Whether the event carries a pledge.
    pub fn has_pledge(&self) -> bool {
        self.pledge.is_some()
    }

    /// The made-up mission `mission_id` of `streamer_id`, its totals as stored here.
    pub fn mission(&self, mission_id: &str, streamer_id: &str) -> Result<Mission, ApiError> {
        let m = mission::Model {
            id: mission_id.to_owned(),
            streamer_id: streamer_id.to_owned(),
            creator_id: streamer_id.to_owned(),
            title: self.title.clone(),
            description: None,
            status: stored(MissionStatus::ALL, &self.status, MissionStatus::as_str)?,
            duration_seconds: 3_600,
            accept_by: self.accept_by,
            accepted_at: self.deadline.map(|_| self.created_at),
            deadline: self.deadline,
            closed_at: None,
            reject_reason: None,
            settled_at: None,
            notified_at: None,
            created_at: self.created_at,
            objection_until: None,
            disputed_at: None,
            evidence_url: None,
            verdict_note: None,
            kind: stored(MissionKind::ALL, &self.kind, MissionKind::as_str)?,
            goal_won: self.goal_won,
            tier_reached: None,
            tier_held_won: None,
            tier_refund_won: None,
            tier_extra_through: None,
        };
        let mut found = Mission::try_from(m)?;
        found.totals = Arc::new(tokio::sync::OnceCell::new_with(Some(Totals {
            total_won: self.total_won,
            backers: self.backers,
        })));
        found.holdings = Arc::new(tokio::sync::OnceCell::new_with(Some(Holdings {
            held_won: self.held_won,
            ..Holdings::default()
        })));
        Ok(found)
    }

    /// The made-up pledge `pledge_id` on the made-up mission `mission_id` of `streamer_id`, its
    /// message shown, its backer made up.
    pub fn pledge(
        &self,
        pledge_id: &str,
        mission_id: &str,
        streamer_id: &str,
    ) -> Result<Option<Pledge>, ApiError> {
        let Some(p) = &self.pledge else {
            return Ok(None);
        };
        let mut found = Pledge::try_from(pledge::Model {
            id: pledge_id.to_owned(),
            mission_id: mission_id.to_owned(),
            backer_id: TEST_BACKER.to_owned(),
            amount: p.amount_won,
            status: PledgeStatus::Held,
            created_at: self.created_at,
            settled_at: None,
            message: Some(p.message.clone()),
            message_status: Some(MessageStatus::Approved),
            anonymous: false,
        })?;
        found.known_backer = Some(Arc::new(User::placeholder(
            TEST_BACKER,
            TEST_BACKER,
            &p.backer_name,
            missionlink_identity::Role::Viewer,
        )));
        found.known_mission = Some(Arc::new(self.mission(mission_id, streamer_id)?));
        Ok(Some(found))
    }
}
