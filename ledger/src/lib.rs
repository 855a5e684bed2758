//! The money core of MissionLink: accounts, immutable double-entry transfers, idempotency
//! records and the audit of the money invariants (BRIEF §4).
//!
//! This is the only code that changes a balance. Every movement is one [`Transfer`] with a
//! deterministic id, applied inside the caller's transaction by [`transfer::apply`]; nothing else
//! in the workspace writes `accounts.balance` or inserts into `transfers`. It never talks to the
//! users database, to Temporal or to the network.

pub mod account;
pub mod audit;
pub mod batch;
pub mod changes;
pub mod channel;
pub mod error;
pub mod events;
mod gate;
pub mod idempotency;
pub mod input;
pub mod listing;
pub mod mission;
pub mod money;
pub mod operator;
pub mod payout;
pub mod prediction;
pub mod reconcile;
pub mod rules;
mod sql;
pub mod statement;
pub mod test_event;
pub mod text;
pub mod topup;
pub mod transfer;
pub mod wallet;
pub mod webhook;

/// The statuses, outcomes and kinds stored in the missions database, shared by every crate.
pub use missionlink_entities::missions::status;

pub use account::AccountId;
pub use error::LedgerError;
pub use money::{Amount, Currency};
pub use status::AccountKind;
pub use transfer::Transfer;
