//! What the payout workflow writes into Temporal histories. These types belong to this crate,
//! with their serde names pinned by the tests below (and the replay fixture), so a rename in
//! the ledger or the database cannot change a recorded payload. None carries the account
//! number: histories show the payout id and statuses only.

use missionlink_ledger::status::PayoutStatus;
use serde::{Deserialize, Serialize};

/// What starts a payout's workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutInput {
    pub payout_id: String,
}

/// A payout's status as the workflow records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutState {
    Requested,
    Processing,
    Paid,
    Failed,
    Cancelled,
}

impl PayoutState {
    /// The status as recorded (its serde name): the `PayoutStatus` search attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutState::Requested => "REQUESTED",
            PayoutState::Processing => "PROCESSING",
            PayoutState::Paid => "PAID",
            PayoutState::Failed => "FAILED",
            PayoutState::Cancelled => "CANCELLED",
        }
    }
}

impl From<PayoutStatus> for PayoutState {
    fn from(s: PayoutStatus) -> Self {
        match s {
            PayoutStatus::Requested => PayoutState::Requested,
            PayoutStatus::Processing => PayoutState::Processing,
            PayoutStatus::Paid => PayoutState::Paid,
            PayoutStatus::Failed => PayoutState::Failed,
            PayoutStatus::Cancelled => PayoutState::Cancelled,
        }
    }
}

/// The payout as the workflow needs it: its status and the end of its hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSnapshot {
    pub status: PayoutState,
    pub hold_until_unix_ms: i64,
    /// The `StreamerId` search attribute. Absent from histories recorded before the workflows
    /// were made findable, hence the default.
    #[serde(default)]
    pub streamer_id: String,
    /// Held (REQUESTED and waiting for an operator, not for the bank). Written only when true,
    /// so every snapshot of a payout never held keeps its recorded form.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// The bank's final answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BankOutcome {
    Completed,
    Failed { reason: String },
}

/// Finishes the payout with the bank's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishInput {
    pub payout_id: String,
    pub outcome: BankOutcome,
}

/// What the receipt step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiptResult {
    Sent,
    /// Recorded by an earlier attempt.
    AlreadySent,
    /// The address was refused for good (recorded, never retried).
    Refused,
    /// No receipt for this payout (cancelled, or its streamer is gone).
    None,
}

/// The workflow's result, readable in the Temporal UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutResult {
    pub status: PayoutState,
    pub receipt: ReceiptResult,
}

/// Where the workflow is, for the `phase` query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutPhase {
    #[default]
    Starting,
    Holding,
    /// Held: waits for an operator to release or cancel it.
    Held,
    AtBank,
    Notifying,
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recorded_payloads_keep_their_form() {
        assert_eq!(
            serde_json::to_value(PayoutInput {
                payout_id: "p".into()
            })
            .expect("json"),
            json!({"payout_id": "p"})
        );
        assert_eq!(
            serde_json::to_value(PayoutSnapshot {
                status: PayoutState::Requested,
                hold_until_unix_ms: 5,
                streamer_id: "s".into(),
                held: false,
            })
            .expect("json"),
            json!({"status": "REQUESTED", "hold_until_unix_ms": 5, "streamer_id": "s"})
        );
        assert_eq!(
            serde_json::to_value(PayoutSnapshot {
                status: PayoutState::Requested,
                hold_until_unix_ms: 5,
                streamer_id: "s".into(),
                held: true,
            })
            .expect("json"),
            json!({"status": "REQUESTED", "hold_until_unix_ms": 5, "streamer_id": "s", "held": true})
        );
        let old: PayoutSnapshot =
            serde_json::from_value(json!({"status": "PAID", "hold_until_unix_ms": 5}))
                .expect("a snapshot from before the search attributes");
        assert_eq!(old.streamer_id, "");
        assert!(!old.held);
        for state in [
            PayoutState::Requested,
            PayoutState::Processing,
            PayoutState::Paid,
            PayoutState::Failed,
            PayoutState::Cancelled,
        ] {
            assert_eq!(
                serde_json::to_value(state).expect("json"),
                json!(state.as_str())
            );
        }
        assert_eq!(
            serde_json::to_value(FinishInput {
                payout_id: "p".into(),
                outcome: BankOutcome::Failed {
                    reason: "closed".into()
                }
            })
            .expect("json"),
            json!({"payout_id": "p", "outcome": {"outcome": "FAILED", "reason": "closed"}})
        );
        assert_eq!(
            serde_json::to_value(BankOutcome::Completed).expect("json"),
            json!({"outcome": "COMPLETED"})
        );
        assert_eq!(
            serde_json::to_value(PayoutResult {
                status: PayoutState::Paid,
                receipt: ReceiptResult::AlreadySent
            })
            .expect("json"),
            json!({"status": "PAID", "receipt": "ALREADY_SENT"})
        );
        assert_eq!(
            serde_json::to_value(PayoutPhase::AtBank).expect("json"),
            json!("AT_BANK")
        );
    }

    #[test]
    fn every_status_maps_to_its_stored_name() {
        for s in PayoutStatus::ALL {
            assert_eq!(
                serde_json::to_value(PayoutState::from(*s)).expect("json"),
                json!(s.as_str())
            );
        }
    }
}
