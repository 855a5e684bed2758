//! The GraphQL enums of stored statuses and outcomes, one per `missionlink_ledger::status`
//! enum, converted both ways. Shared by the mission and prediction resolvers.

use async_graphql::Enum;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::MissionStatus")]
pub enum MissionStatus {
    /// A streamer's goal taking pledges: reaching its `goal` makes it ACTIVE (its deadline
    /// counted from then); not reached by `fundingEndsAt`, it EXPIRES and every backer is
    /// refunded.
    Funding,
    /// Proposed; waiting for the streamer within the accept window. Takes pledges.
    Pending,
    /// Accepted; waiting for the verdict before the deadline. Takes pledges.
    Active,
    /// Decided SUCCESS; the backers may object until `objectionWindowEndsAt`
    /// (`OBJECTION_WINDOW_SECONDS` > 0). No more pledges.
    Verifying,
    /// The objections reached `OBJECTION_THRESHOLD_BPS` of the pledged won: an operator
    /// decides.
    Disputed,
    Succeeded,
    Failed,
    Expired,
    Rejected,
    /// Cancelled by an operator; every backer is refunded.
    Cancelled,
    /// Withdrawn while PENDING by its creator (`withdrawMission`; a goal by its streamer while
    /// FUNDING), or a proposal by its backers until none was left (`withdrawPledge`); whatever
    /// was held is refunded. Starts no cooldown.
    Withdrawn,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PledgeStatus")]
pub enum PledgeStatus {
    /// In the mission's escrow.
    Held,
    /// Paid to the streamer (less the fee): the mission succeeded. Under a goal's tiered
    /// verdict part of it came back to the backer (their statement's `REFUND` entry, and their
    /// result email, say how much).
    Paid,
    /// Back in the backer's cash: the mission did not succeed.
    Refunded,
    /// Withdrawn by its backer while the mission was PENDING or FUNDING (`withdrawPledge`):
    /// back in their cash at once.
    Withdrawn,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::Outcome")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PredictionStatus")]
pub enum PredictionStatus {
    Open,
    Locked,
    Settled,
    Refunded,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::MessageStatus")]
pub enum MessageStatus {
    /// Shown with the pledge.
    Approved,
    /// Waits for the streamer's approval.
    Pending,
    Hidden,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PayoutStatus")]
pub enum PayoutStatus {
    /// Waiting out the hold (`PAYOUT_HOLD_SECONDS`); may still be cancelled.
    Requested,
    /// Handed to the bank.
    Processing,
    /// The bank paid it.
    Paid,
    /// The bank refused it; the whole amount is back in earnings (a cash refund's: in cash).
    Failed,
    /// Cancelled during the hold; the whole amount is back in earnings (a cash refund's: in
    /// cash).
    Cancelled,
}

/// What a payout pays out.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PayoutKind")]
pub enum PayoutKind {
    /// A streamer's earnings (`requestPayout`).
    Earnings,
    /// Remaining cash, to a refund account in the verified name (`requestCashRefund`).
    CashRefund,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::TopUpStatus")]
pub enum TopUpStatus {
    /// Ordered; waiting for the payment in the provider's widget and `confirmTopUp`. Deleted
    /// once older than `TOPUP_ORDER_TTL_SECONDS` (it reserved and charged nothing).
    Prepared,
    /// The provider is being asked to take the payment (the day's limit is reserved); a
    /// provider that did not answer leaves it here until `confirmTopUp` again or its webhook.
    Confirming,
    /// Paid; the won are in the wallet.
    Confirmed,
    /// The provider refused the payment; nothing was credited.
    Failed,
    /// Withdrawal under way: the won left the wallet; the provider is cancelling the payment.
    Withdrawing,
    /// Withdrawn: the payment was cancelled, the won went back to the payer.
    Withdrawn,
}
