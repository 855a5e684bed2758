//! The `Mission` workflow, laid out as the Temporal SDK's examples are: the workflow
//! ([`workflow`]), its activities ([`activities`]), the payloads written into histories
//! ([`payload`]) and the replay helper ([`replay`]); the email step is [`crate::mission::delivery`].
//!
//! The workflow owns time and settlement. It waits for the streamer against the accept window,
//! then for the verdict against the deadline, then settles every pledge and sends the emails.
//! The mission's status lives in the missions database, where each transition is one
//! conditional update (see `missionlink_ledger::mission`); the API's `statusChanged` signal
//! only wakes the workflow up, and a timer that fires asks the database to expire the mission
//! *if it is still* waiting and due. So a lost signal delays nothing beyond the timer, and a
//! signal racing a timer cannot produce two outcomes.

pub mod activities;
pub mod delivery;
pub mod notices;
mod outgoing;
pub mod payload;
pub mod replay;
pub mod workflow;

pub use activities::{ACTIVITY_NAMES, MissionActivities, SettlementSettings};
pub use notices::MissionNoticeWorkflow;
pub use payload::{
    EmailSummary, ExpireInput, MissionInput, MissionResult, MissionSnapshot, MissionState, Notice,
    NoticeInput, OperatorActionSignal, Phase, PredictionSummary, SettlementSummary,
};
pub use replay::{recorded_history, replay};
pub use workflow::{MissionWorkflow, NOTICES_PATCH, OBJECTION_PATCH, PREDICTION_PATCH};
