//! What the mission workflow writes into Temporal histories: its input, its activities' inputs
//! and results, its query answer and its result. These types belong to this crate, with their
//! serde names fixed here, so a rename in the ledger or the database cannot change a recorded
//! payload; the replay fixtures and the tests below pin their serialized form.

use missionlink_ledger::status::MissionStatus;
use serde::{Deserialize, Serialize};

/// What starts a mission's workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionInput {
    pub mission_id: String,
}

/// A mission's status as the workflow records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MissionState {
    /// A streamer's goal taking pledges until it reaches its goal or its funding ends.
    Funding,
    Pending,
    Active,
    Verifying,
    Disputed,
    Succeeded,
    Failed,
    Expired,
    Rejected,
    Cancelled,
    Withdrawn,
}

impl MissionState {
    /// The status as recorded (its serde name): the `MissionStatus` search attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            MissionState::Funding => "FUNDING",
            MissionState::Pending => "PENDING",
            MissionState::Active => "ACTIVE",
            MissionState::Verifying => "VERIFYING",
            MissionState::Disputed => "DISPUTED",
            MissionState::Succeeded => "SUCCEEDED",
            MissionState::Failed => "FAILED",
            MissionState::Expired => "EXPIRED",
            MissionState::Rejected => "REJECTED",
            MissionState::Cancelled => "CANCELLED",
            MissionState::Withdrawn => "WITHDRAWN",
        }
    }
}

impl From<MissionStatus> for MissionState {
    fn from(s: MissionStatus) -> Self {
        match s {
            MissionStatus::Funding => MissionState::Funding,
            MissionStatus::Pending => MissionState::Pending,
            MissionStatus::Active => MissionState::Active,
            MissionStatus::Verifying => MissionState::Verifying,
            MissionStatus::Disputed => MissionState::Disputed,
            MissionStatus::Succeeded => MissionState::Succeeded,
            MissionStatus::Failed => MissionState::Failed,
            MissionStatus::Expired => MissionState::Expired,
            MissionStatus::Rejected => MissionState::Rejected,
            MissionStatus::Cancelled => MissionState::Cancelled,
            MissionStatus::Withdrawn => MissionState::Withdrawn,
        }
    }
}

impl From<MissionState> for MissionStatus {
    fn from(s: MissionState) -> Self {
        match s {
            MissionState::Funding => MissionStatus::Funding,
            MissionState::Pending => MissionStatus::Pending,
            MissionState::Active => MissionStatus::Active,
            MissionState::Verifying => MissionStatus::Verifying,
            MissionState::Disputed => MissionStatus::Disputed,
            MissionState::Succeeded => MissionStatus::Succeeded,
            MissionState::Failed => MissionStatus::Failed,
            MissionState::Expired => MissionStatus::Expired,
            MissionState::Rejected => MissionStatus::Rejected,
            MissionState::Cancelled => MissionStatus::Cancelled,
            MissionState::Withdrawn => MissionStatus::Withdrawn,
        }
    }
}

/// The mission as the workflow needs it: status and the moments it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionSnapshot {
    pub status: MissionState,
    pub accept_by_unix_ms: i64,
    pub deadline_unix_ms: Option<i64>,
    /// When betting closes, once the mission was accepted. (Absent from histories recorded
    /// before the prediction game, hence the defaults.)
    #[serde(default)]
    pub prediction_lock_unix_ms: Option<i64>,
    /// Whether betting is still open.
    #[serde(default)]
    pub prediction_open: bool,
    /// What the workflow shows operators (search attributes and memo). Absent from histories
    /// recorded before the workflows were made findable, hence the defaults.
    #[serde(default)]
    pub streamer_id: String,
    #[serde(default)]
    pub title: String,
    /// Won pledged so far, every pledge counted.
    #[serde(default)]
    pub total_pledged_won: i64,
    /// While VERIFYING: when the backers' objection window ends. (Absent from histories
    /// recorded before the objection window, hence the default.)
    #[serde(default)]
    pub objection_until_unix_ms: Option<i64>,
}

/// An operator's action on the mission, as the `operatorAction` signal carries it: the
/// workflow re-reads the mission, and the history shows who did what and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorActionSignal {
    pub action_id: String,
    /// `RESOLVE_DISPUTE` or `CANCEL_MISSION`.
    pub action: String,
    pub operator_id: String,
    /// A dispute's resolution: `SUCCESS` or `FAILURE`.
    pub outcome: Option<String>,
    pub note: String,
}

/// Asks the database to expire the mission if it is still `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireInput {
    pub mission_id: String,
    pub from: MissionState,
}

/// What settlement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementSummary {
    pub pledges: u64,
    pub amount_won: i64,
}

/// What settling the prediction game did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionSummary {
    pub bets: u64,
    pub points_paid: i64,
    pub refunded: bool,
}

/// A notice the backers get while the mission runs (issue 28, item 5), each once per backer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Notice {
    /// The streamer accepted it: its deadline, their channel.
    Accepted,
    /// Its success verdict is open to objections: the evidence, how and until when to object.
    Verifying,
}

impl Notice {
    /// The status the mission is in while this notice is worth sending.
    pub fn status(self) -> MissionState {
        match self {
            Notice::Accepted => MissionState::Active,
            Notice::Verifying => MissionState::Verifying,
        }
    }

    /// Its deliveries' `role` in `email_deliveries`, and its name in ids.
    pub fn role(self) -> &'static str {
        match self {
            Notice::Accepted => "ACCEPTED",
            Notice::Verifying => "VERIFYING",
        }
    }
}

/// What the `MissionNotice` workflow sends: one notice of one mission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeInput {
    pub mission_id: String,
    pub notice: Notice,
}

/// What the email step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSummary {
    pub sent: u64,
    pub already_sent: u64,
    /// Recipients refused for good (recorded as failed). Absent from older histories.
    #[serde(default)]
    pub failed: u64,
}

/// The workflow's result, readable in the Temporal UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionResult {
    pub status: MissionState,
    pub settlement: SettlementSummary,
    pub emails: EmailSummary,
    /// The prediction game's settlement, if the mission was accepted.
    #[serde(default)]
    pub prediction: Option<PredictionSummary>,
}

/// Where the workflow is, for the `phase` query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    #[default]
    Starting,
    /// A goal taking pledges: waiting for its goal or the end of its funding.
    Funding,
    AwaitingAcceptance,
    InProgress,
    /// Decided SUCCESS; the backers' objection window is open.
    Verifying,
    /// Objections opened a dispute; waiting for an operator.
    Disputed,
    Settling,
    Notifying,
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recorded_payloads_keep_their_form() {
        let snapshot = MissionSnapshot {
            status: MissionState::Active,
            accept_by_unix_ms: 1,
            deadline_unix_ms: Some(2),
            prediction_lock_unix_ms: Some(3),
            prediction_open: true,
            streamer_id: "s".into(),
            title: "t".into(),
            total_pledged_won: 4,
            objection_until_unix_ms: Some(5),
        };
        assert_eq!(
            serde_json::to_value(&snapshot).expect("json"),
            json!({"status": "ACTIVE", "accept_by_unix_ms": 1, "deadline_unix_ms": 2,
                   "prediction_lock_unix_ms": 3, "prediction_open": true,
                   "streamer_id": "s", "title": "t", "total_pledged_won": 4,
                   "objection_until_unix_ms": 5})
        );
        let old: MissionSnapshot = serde_json::from_value(
            json!({"status": "PENDING", "accept_by_unix_ms": 1, "deadline_unix_ms": null}),
        )
        .expect("a snapshot from before the prediction game");
        assert_eq!(old.status, MissionState::Pending);
        assert_eq!(
            serde_json::to_value(ExpireInput {
                mission_id: "m".into(),
                from: MissionState::Pending
            })
            .expect("json"),
            json!({"mission_id": "m", "from": "PENDING"})
        );
        let result = MissionResult {
            status: MissionState::Succeeded,
            settlement: SettlementSummary {
                pledges: 2,
                amount_won: 3_000,
            },
            emails: EmailSummary {
                sent: 3,
                already_sent: 0,
                failed: 0,
            },
            prediction: Some(PredictionSummary {
                bets: 1,
                points_paid: 10,
                refunded: false,
            }),
        };
        assert_eq!(
            serde_json::to_value(&result).expect("json"),
            json!({"status": "SUCCEEDED",
                   "settlement": {"pledges": 2, "amount_won": 3000},
                   "emails": {"sent": 3, "already_sent": 0, "failed": 0},
                   "prediction": {"bets": 1, "points_paid": 10, "refunded": false}})
        );
        assert_eq!(
            serde_json::to_value(Phase::AwaitingAcceptance).expect("json"),
            json!("AWAITING_ACCEPTANCE")
        );
        assert_eq!(
            serde_json::to_value(OperatorActionSignal {
                action_id: "a".into(),
                action: "RESOLVE_DISPUTE".into(),
                operator_id: "o".into(),
                outcome: Some("FAILURE".into()),
                note: "n".into(),
            })
            .expect("json"),
            json!({"action_id": "a", "action": "RESOLVE_DISPUTE", "operator_id": "o",
                   "outcome": "FAILURE", "note": "n"})
        );
    }

    #[test]
    fn every_status_maps_both_ways() {
        for s in MissionStatus::ALL {
            assert_eq!(MissionStatus::from(MissionState::from(*s)), *s);
            assert_eq!(
                serde_json::to_value(MissionState::from(*s)).expect("json"),
                json!(s.as_str())
            );
            assert_eq!(MissionState::from(*s).as_str(), s.as_str());
        }
    }
}
