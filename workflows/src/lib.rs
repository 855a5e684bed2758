//! Temporal workflows, their activities, and the worker that runs them.
//!
//! Workflow code here is deterministic: no clock, randomness or I/O outside the SDK's context.
//! Every side effect happens in an activity, and every activity is idempotent by construction
//! (read-only, or money moved only through `missionlink-ledger` transfers with deterministic
//! ids). This crate never serves HTTP and never reads the users database except to address an
//! email (the activities that send one, and the top-up receipts' loop). It also holds the
//! providers that move real money, which the API calls too: the bank (`bank`) and the payment
//! provider of top-ups (`payments`).

pub mod account_emails;
pub mod audit;
pub mod audit_loop;
pub mod bank;
pub mod dispute_watch;
pub mod email;
pub mod event_pruning;
pub mod failure;
pub mod findable;
pub mod mission;
pub mod outbox;
pub mod payments;
pub mod payout;
pub mod periodic;
pub mod prediction_sweep;
pub mod reconciliation_notices;
pub mod reconciliation_watch;
mod retry;
pub mod temporal;
pub mod topup_receipts;
pub mod webhook_notices;
pub mod worker;

pub use temporal::{TemporalConfig, TemporalHandle};
