//! Streamer payouts (issue 14): a streamer's bank account, requests to pay earnings out, and
//! each request's life, REQUESTED → PROCESSING → PAID | FAILED, or REQUESTED → CANCELLED. While
//! REQUESTED a payout may be held (`held_at`): it then waits for an operator instead of leaving
//! (`crate::operator::{hold, release, cancel_payout}`).
//!
//! Money moves only by transfers with ids named after the payout and the step:
//! - request: `payoutreq:<id>:net` (BANK_PAYOUT) and `payoutreq:<id>:fee` (PAYOUT_FEE, when the
//!   fee is not 0), from the streamer's earnings into the payout's hold
//!   ([`AccountId::payout_hold`](crate::AccountId::payout_hold)); the earnings' conditional
//!   debit refuses an overdraft, so of two requests racing over the same earnings one wins;
//! - paid: `payoutpaid:<id>:bank` (BANK_TRANSFER, the net, hold → world) and
//!   `payoutpaid:<id>:fee` (FEE, hold → the platform's fee account);
//! - failed or cancelled: `payoutreturn:<id>` (PAYOUT_RETURN, the whole amount, hold →
//!   earnings).
//!
//! Each status change is one conditional update of the payout's row in the transaction of its
//! transfers, so the database decides a cancel racing the start of processing.

mod account;
pub mod banks;
mod finish;
mod list;
mod refund;
mod request;

pub use account::{AccountNumber, HolderName, PayoutAccount, account, set_account};
pub use finish::{Outcome, cancel, finish, start_processing};
pub(crate) use finish::{give_back, hold_row, lock, transition};
pub use list::{
    find, held_count, mark_workflow_started, paid_since, payout_order, payouts, stuck_count,
    unstarted,
};
pub use refund::{
    CashRefundRules, Usage, refund_account, refund_account_key, request_cash_refund,
    set_refund_account, usage,
};
pub use request::{PayoutRules, request};

/// The Temporal workflow id of a payout's workflow.
pub fn workflow_id(payout_id: &str) -> String {
    format!("payout-{payout_id}")
}

/// Transfer ids of a payout's steps (BRIEF §4.5).
pub mod transfer_ids {
    pub fn request_net(id: &str) -> String {
        format!("payoutreq:{id}:net")
    }
    pub fn request_fee(id: &str) -> String {
        format!("payoutreq:{id}:fee")
    }
    pub fn paid_bank(id: &str) -> String {
        format!("payoutpaid:{id}:bank")
    }
    pub fn paid_fee(id: &str) -> String {
        format!("payoutpaid:{id}:fee")
    }
    pub fn returned(id: &str) -> String {
        format!("payoutreturn:{id}")
    }
}
