//! The `Payout` workflow, laid out like [`crate::mission`]: the workflow ([`workflow`]), its
//! activities ([`activities`]), the payloads written into histories ([`payload`]), starting it
//! exactly once after the request commits ([`outbox`]), and the replay helper ([`replay`]).
//!
//! The payout's row in the missions database is the truth (see `missionlink_ledger::payout`);
//! the workflow owns time (the hold) and the conversation with the bank.

pub mod activities;
pub mod outbox;
pub mod payload;
pub mod replay;
pub mod returns;
pub mod watch;
pub mod workflow;

pub use activities::{ACTIVITY_NAMES, Operator, PayoutActivities};
pub use payload::{PayoutInput, PayoutPhase, PayoutResult, PayoutState};
pub use workflow::PayoutWorkflow;
