//! Reconciliation with the payment provider and the bank (issue 26, item 4): every
//! disagreement becomes a case an operator settles, and what a user owes is a receivable.
//!
//! - [`cases`]: opening a case (once per provider's word: a unique `(kind, subject)`), reading
//!   and counting them. A provider's cancel of a credited top-up opens one through
//!   [`cases::provider_cancelled`], which records how much of the payment the provider has
//!   cancelled on the top-up row itself, so two deliveries of one cancel open one case.
//! - [`resolve`]: an operator's resolution, recorded as an operator action in the transaction
//!   of its movements. `DEBIT_WALLET` takes what the wallet holds (`PROVIDER_REVERSAL`) and
//!   records the rest as owed (`OWED`); `RECORD_RECEIVABLE` records all of it as owed.
//! - [`notices`]: the email each user is owed for a case resolved about their money (the case
//!   row is its own outbox).
//! - [`receivable`]: what a user owes (`receivable:CASH:<user>`, never above zero), repaid
//!   first from later cash into the wallet (`REPAYMENT`): top-ups and mission refunds.
//!
//! A wallet never goes below zero: what it cannot cover is owed instead.

pub mod cases;
pub mod notices;
pub mod receivable;
pub mod resolve;

pub use cases::{NewCase, Waiting};
pub use resolve::{Resolved, resolve};
