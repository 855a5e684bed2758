//! The closed sets of values stored as text in the missions database: statuses, outcomes and
//! kinds. Each column holding one is typed with its enum (a SeaORM active enum), so no code
//! parses a status by hand, and SQL written as text takes its literals from [`as_str`]
//! (e.g. `PledgeStatus::Held.as_str()`). The migrations' CHECK constraints list the same values;
//! `missionlink-ledger`'s tests insert every variant to prove the two agree.
//!
//! These are the database's names. Temporal payloads and the GraphQL schema have their own
//! types, converted at their edges, so renaming a variant here changes neither.
//!
//! [`as_str`]: MissionStatus::as_str

use crate::text_enum::text_enum;

text_enum! {
    /// Where a mission is in its life (BRIEF §3): `missions.status`.
    pub enum MissionStatus {
        /// A streamer's goal taking pledges until it reaches its goal (then ACTIVE) or its
        /// funding ends (then EXPIRED) (issue 28).
        Funding = "FUNDING",
        Pending = "PENDING",
        Active = "ACTIVE",
        /// Decided SUCCESS, inside the backers' objection window (issue 16).
        Verifying = "VERIFYING",
        /// Objections reached the threshold: an operator decides.
        Disputed = "DISPUTED",
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
        Expired = "EXPIRED",
        Rejected = "REJECTED",
        /// Cancelled by an operator: every backer refunded.
        Cancelled = "CANCELLED",
        /// Withdrawn while PENDING by its creator, or by its backers one pledge at a time
        /// until none was held (issue 28): whatever is held is refunded.
        Withdrawn = "WITHDRAWN",
    }
}

impl MissionStatus {
    /// A final status: nothing changes any more, and settlement may run.
    pub const fn is_final(self) -> bool {
        !matches!(
            self,
            MissionStatus::Funding
                | MissionStatus::Pending
                | MissionStatus::Active
                | MissionStatus::Verifying
                | MissionStatus::Disputed
        )
    }
}

text_enum! {
    /// What happened to a pledge: `pledges.status`.
    pub enum PledgeStatus {
        Held = "HELD",
        Paid = "PAID",
        Refunded = "REFUNDED",
        /// Withdrawn by its backer while the mission was PENDING: the won went back at once
        /// (`withdraw:<mission>:<pledge>`), and `settled_at` says when.
        Withdrawn = "WITHDRAWN",
    }
}

text_enum! {
    /// The streamer's verdict, and the side a bet is on: `bets.outcome`.
    pub enum Outcome {
        Success = "SUCCESS",
        Failure = "FAILURE",
    }
}

text_enum! {
    /// Where a mission's prediction game is: `predictions.status`.
    pub enum PredictionStatus {
        Open = "OPEN",
        Locked = "LOCKED",
        Settled = "SETTLED",
        Refunded = "REFUNDED",
    }
}

text_enum! {
    /// How a streamer's prediction was decided: `streamer_predictions.decision`.
    pub enum PredictionDecision {
        /// A winning outcome was named: parimutuel payout.
        Resolved = "RESOLVED",
        /// Cancelled by the streamer or a moderator: every stake back.
        Cancelled = "CANCELLED",
        /// Nobody resolved it in time: every stake back.
        Expired = "EXPIRED",
    }
}

text_enum! {
    /// Why money moved: `transfers.kind`.
    pub enum TransferKind {
        /// A new user's starting points.
        SignupGrant = "SIGNUP_GRANT",
        /// Cash in from the outside world.
        Topup = "TOPUP",
        /// A backer's cash into a mission's escrow.
        Pledge = "PLEDGE",
        /// Escrow to the streamer's earnings (success, less the fee).
        Payout = "PAYOUT",
        /// Escrow to the platform's fee account (success).
        Fee = "FEE",
        /// Escrow back to a backer (failure, rejection, expiry).
        Refund = "REFUND",
        /// A bettor's points into a prediction's pool.
        Bet = "BET",
        /// Pool to a winning bettor.
        BetPayout = "BET_PAYOUT",
        /// Pool back to a bettor when there is no winner.
        BetRefund = "BET_REFUND",
        /// A streamer's earnings into a payout's hold: what the bank will be asked to send.
        BankPayout = "BANK_PAYOUT",
        /// A streamer's earnings into a payout's hold: the payout fee.
        PayoutFee = "PAYOUT_FEE",
        /// A paid payout's hold out to the outside world (the streamer's bank account).
        BankTransfer = "BANK_TRANSFER",
        /// A failed or cancelled payout's hold back to the streamer's earnings.
        PayoutReturn = "PAYOUT_RETURN",
        /// A withdrawn top-up: the user's cash back out to the payment provider (the outside
        /// world), `withdrawal:<top-up>`.
        Withdrawal = "WITHDRAWAL",
        /// A withdrawal the payment provider refused to cancel: the cash back into the wallet,
        /// `withdrawal-return:<top-up>`.
        WithdrawalReturn = "WITHDRAWAL_RETURN",
        /// A pledge its backer withdrew while the mission was PENDING: escrow back to the
        /// backer's cash, `withdraw:<mission>:<pledge>`.
        PledgeWithdrawal = "PLEDGE_WITHDRAWAL",
        /// Cash a payment provider gave back to the card behind our back (a top-up cancelled at
        /// the provider), taken from the wallet by an operator's reconciliation: wallet to the
        /// outside world, `case:<case>:debit`.
        ProviderReversal = "PROVIDER_REVERSAL",
        /// What such a reversal could not take from the wallet, recorded as owed: the user's
        /// receivable to the outside world, `case:<case>:owed`.
        Owed = "OWED",
        /// Cash later credited to a wallet that owes, paying the debt back first: wallet to
        /// the user's receivable, `repay:<cause>`.
        Repayment = "REPAYMENT",
        /// A user's cash into a cash refund's hold: what the bank will be asked to send
        /// (`payoutreq:<id>:net`).
        CashRefund = "CASH_REFUND",
        /// A user's cash into a cash refund's hold: its fee (`payoutreq:<id>:fee`).
        CashRefundFee = "CASH_REFUND_FEE",
        /// A failed or cancelled cash refund's hold back to the user's cash
        /// (`payoutreturn:<id>`).
        CashRefundReturn = "CASH_REFUND_RETURN",
        /// A user's daily points claim: the points' outside world to their points wallet,
        /// `daily:<user>:<day>` (issue 31).
        DailyPoints = "DAILY_POINTS",
    }
}

text_enum! {
    /// What an account is for: `accounts.kind`.
    pub enum AccountKind {
        /// A user's spendable cash or points.
        Wallet = "WALLET",
        /// Won paid out to a user as a streamer.
        Earnings = "EARNINGS",
        /// The outside world: money enters (top-up) and leaves through it. The only account
        /// that may be negative; its balance is minus everything the system holds.
        World = "WORLD",
        /// Platform fees taken from successful missions.
        Fee = "FEE",
        /// A mission's pledges while they are held. Journal-only: thousands of pledges a
        /// second to one mission must not queue on one row (BRIEF §5). Also a payout's hold
        /// (`payout:CASH:<payout>`, owned by the payout): the kinds of `accounts.kind` cannot
        /// grow on SQLite, and a hold is journal-only like an escrow.
        Escrow = "ESCROW",
        /// A prediction's pool of staked points. Journal-only, like escrow.
        Pool = "POOL",
        /// What a user owes the platform (`receivable:CASH:<user>`): cash a provider gave back
        /// after it was spent. Materialised, and never above zero (the database's CHECK): its
        /// balance is minus what is owed, repaid first from the user's later cash.
        Receivable = "RECEIVABLE",
    }
}

impl AccountKind {
    /// Journal-only accounts keep no balance column: every transfer touching them would
    /// otherwise update the same hot row and serialise all traffic (BRIEF §5). Their balance is
    /// the sum of their transfers, computed when needed. The database ties `materialised` to
    /// the kind with a CHECK.
    pub const fn materialised(self) -> bool {
        !matches!(
            self,
            AccountKind::World | AccountKind::Escrow | AccountKind::Pool
        )
    }
}

text_enum! {
    /// How an email delivery ended: `email_deliveries.status`.
    pub enum DeliveryStatus {
        Sent = "SENT",
        /// The address was refused for good (never retried).
        Failed = "FAILED",
    }
}

text_enum! {
    /// What happened to one of a streamer's missions: `mission_events.kind`.
    pub enum EventKind {
        /// Proposed, with its creator's first pledge.
        Created = "CREATED",
        /// Another pledge was held.
        Pledged = "PLEDGED",
        Accepted = "ACCEPTED",
        Rejected = "REJECTED",
        /// The streamer's verdict: success.
        Succeeded = "SUCCEEDED",
        /// The streamer's verdict: failure.
        Failed = "FAILED",
        /// The accept window or the deadline passed without the streamer's answer.
        Expired = "EXPIRED",
        /// Every pledge is paid or refunded.
        Settled = "SETTLED",
        /// A pledge's message was approved (it shows from now on).
        MessageApproved = "MESSAGE_APPROVED",
        /// A pledge's message was hidden.
        MessageHidden = "MESSAGE_HIDDEN",
        /// The streamer's verdict is success, open to the backers' objections until the window
        /// ends.
        Verifying = "VERIFYING",
        /// Objections reached the threshold: the verdict waits for an operator.
        Disputed = "DISPUTED",
        /// An operator cancelled the mission; every backer is refunded.
        Cancelled = "CANCELLED",
        /// A backer withdrew a pledge while the mission was PENDING (the overlay drops it).
        PledgeWithdrawn = "PLEDGE_WITHDRAWN",
        /// The creator withdrew the mission, or its last held pledge was withdrawn.
        Withdrawn = "WITHDRAWN",
        /// A goal mission reached its goal: it is ACTIVE, its deadline runs.
        GoalReached = "GOAL_REACHED",
        /// A goal mission's stretch tier was reached (the mission's tiers say which).
        TierReached = "TIER_REACHED",
        /// A streamer opened a prediction of their own: betting is open.
        PredictionOpened = "PREDICTION_OPENED",
        /// Betting closed on a streamer's prediction.
        PredictionLocked = "PREDICTION_LOCKED",
        /// A streamer's prediction was paid out: resolved to an outcome, cancelled or expired
        /// (its decision says which).
        PredictionResolved = "PREDICTION_RESOLVED",
    }
}

text_enum! {
    /// What kind of mission it is: `missions.kind`.
    pub enum MissionKind {
        /// A viewer proposes it to a streamer with a first pledge; the streamer accepts.
        Proposal = "PROPOSAL",
        /// A streamer posts it for their own channel with a goal and stretch tiers; reaching
        /// the goal starts it.
        Goal = "GOAL",
    }
}

text_enum! {
    /// What a payout pays out: `payouts.kind`.
    pub enum PayoutKind {
        /// A streamer's earnings (`requestPayout`).
        Earnings = "EARNINGS",
        /// A user's remaining cash, to a refund account in their verified name
        /// (`requestCashRefund`).
        CashRefund = "CASH_REFUND",
    }
}

text_enum! {
    /// Where a streamer's payout is: `payouts.status`.
    pub enum PayoutStatus {
        /// Waiting out the hold; the streamer may still cancel.
        Requested = "REQUESTED",
        /// Handed to the bank.
        Processing = "PROCESSING",
        /// The bank paid it.
        Paid = "PAID",
        /// The bank refused it; the money is back in earnings.
        Failed = "FAILED",
        /// Cancelled by the streamer during the hold; the money is back in earnings.
        Cancelled = "CANCELLED",
    }
}

impl PayoutStatus {
    /// Whether the payout's money has left its hold (paid, or back in earnings).
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            PayoutStatus::Paid | PayoutStatus::Failed | PayoutStatus::Cancelled
        )
    }
}

text_enum! {
    /// What the sandbox bank says of a transfer: `bank_sandbox_transfers.status`.
    pub enum BankTransferStatus {
        Pending = "PENDING",
        Completed = "COMPLETED",
        Failed = "FAILED",
    }
}

text_enum! {
    /// Where a top-up through the payment provider is: `top_ups.status`. Changed only by
    /// conditional updates (`ledger::topup`), each in the transaction of its transfers.
    pub enum TopUpStatus {
        /// Ordered (`prepareTopUp`); the client pays in the provider's widget.
        Prepared = "PREPARED",
        /// Confirm began: the day's limit is reserved and the provider is being asked. A
        /// provider that did not answer leaves it here until a retry or the webhook settles it.
        Confirming = "CONFIRMING",
        /// The provider approved the payment; the wallet was credited.
        Confirmed = "CONFIRMED",
        /// The provider refused the payment; nothing was credited, the reservation released.
        Failed = "FAILED",
        /// Withdrawal began: the wallet was debited, the provider's cancel is being asked.
        Withdrawing = "WITHDRAWING",
        /// The provider cancelled the payment; the won left the wallet.
        Withdrawn = "WITHDRAWN",
    }
}

text_enum! {
    /// What a top-up receipt is about: `topup_receipts.event`.
    pub enum TopUpEvent {
        Confirmed = "CONFIRMED",
        Withdrawn = "WITHDRAWN",
    }
}

text_enum! {
    /// Where a pledge's message is in moderation: `pledges.message_status`.
    pub enum MessageStatus {
        /// Shown with the pledge.
        Approved = "APPROVED",
        /// Waits for the streamer (or a moderator) to approve it.
        Pending = "PENDING",
        Hidden = "HIDDEN",
    }
}

text_enum! {
    /// What a streamer or one of their moderators did: `moderation_actions.action`.
    pub enum ModerationAction {
        Accept = "ACCEPT",
        Reject = "REJECT",
        ApproveMessage = "APPROVE_MESSAGE",
        HideMessage = "HIDE_MESSAGE",
    }
}

text_enum! {
    /// What an operator did: `operator_actions.action`.
    pub enum OperatorActionKind {
        /// Settled a DISPUTED mission as SUCCEEDED or FAILED.
        ResolveDispute = "RESOLVE_DISPUTE",
        /// Cancelled a mission that was not final; every backer is refunded.
        CancelMission = "CANCEL_MISSION",
        SuspendUser = "SUSPEND_USER",
        UnsuspendUser = "UNSUSPEND_USER",
        /// Held a payout waiting out its hold: it waits for an operator instead of leaving.
        HoldPayout = "HOLD_PAYOUT",
        /// Let a held payout go on to the bank.
        ReleasePayout = "RELEASE_PAYOUT",
        /// Cancelled a payout before it left: the whole amount back to earnings.
        CancelPayout = "CANCEL_PAYOUT",
        /// Approved a viewer's application: the account is a streamer with a verified channel.
        ApproveStreamer = "APPROVE_STREAMER",
        /// Refused a viewer's application; the account stays a viewer.
        RefuseStreamer = "REFUSE_STREAMER",
        /// Settled a reconciliation case (a disagreement with a payment provider or bank).
        ResolveReconciliation = "RESOLVE_RECONCILIATION",
        /// Read one user's money (`userMoney`): every such read is on the record.
        ReadUserMoney = "READ_USER_MONEY",
    }
}

text_enum! {
    /// What a payment provider or bank did that the ledger disagrees with:
    /// `reconciliation_cases.kind`.
    pub enum CaseKind {
        /// A credited top-up's payment was cancelled whole at the provider (its console, the
        /// card issuer), outside `cancelTopUp`: the won went back to the card.
        TopupCancelledAtProvider = "TOPUP_CANCELLED_AT_PROVIDER",
        /// Part of a credited top-up's payment was cancelled at the provider.
        PartialCancelAtProvider = "PARTIAL_CANCEL_AT_PROVIDER",
        /// The provider describes a payment otherwise than our order (another amount or
        /// order): taken, never credited.
        AmountMismatch = "AMOUNT_MISMATCH",
        /// A payment taken past the day's limit or the order's time, never credited.
        OverLimit = "OVER_LIMIT",
        /// A paid payout the bank sent back (the worker asks the bank about paid payouts again
        /// for `PAYOUT_RETURN_WATCH_DAYS`): the won are back in the platform's account.
        PayoutReturnedByBank = "PAYOUT_RETURNED_BY_BANK",
    }
}

text_enum! {
    /// Whether an operator settled a case: `reconciliation_cases.status`.
    pub enum CaseStatus {
        Open = "OPEN",
        Resolved = "RESOLVED",
    }
}

text_enum! {
    /// How an operator settled a case: `reconciliation_cases.resolution`.
    pub enum CaseAction {
        /// Take the won back from the wallet; what it cannot cover becomes owed.
        DebitWallet = "DEBIT_WALLET",
        /// Record the whole amount as owed, repaid from later cash.
        RecordReceivable = "RECORD_RECEIVABLE",
        /// Give the payment back at the provider (one never credited).
        RefundAtProvider = "REFUND_AT_PROVIDER",
        /// Give a payout the bank sent back to the balance it was paid from (a streamer's
        /// earnings, or a cash refund's cash), to be requested again.
        ReturnToBalance = "RETURN_TO_BALANCE",
        /// Nothing to move (settled outside, or written off); the note says why.
        NoAction = "NO_ACTION",
    }
}

text_enum! {
    /// Whether a streamer's webhook is sent events: `webhooks.status`.
    pub enum WebhookStatus {
        Active = "ACTIVE",
        /// Given up after failing for `WEBHOOK_GIVE_UP_SECONDS` (or deleted events it still
        /// owed); its streamer is emailed. Sent nothing until enabled again.
        Disabled = "DISABLED",
    }
}

text_enum! {
    /// Where one event's delivery to a webhook stands: `webhook_deliveries.status`.
    pub enum WebhookDeliveryStatus {
        /// The receiver answered 2xx.
        Delivered = "DELIVERED",
        /// The last attempt failed; it is tried again (`webhooks.retry_at`).
        Retrying = "RETRYING",
        /// Given up with its webhook.
        Failed = "FAILED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;
    use std::fmt;

    fn agrees<E: ActiveEnum<Value = String> + Copy + fmt::Display>(all: &[E]) {
        for v in all {
            assert_eq!(v.to_value(), v.to_string());
            assert!(E::try_from_value(&v.to_string()).is_ok());
        }
        assert_eq!(E::iter().count(), all.len());
    }

    #[test]
    fn as_str_is_the_stored_value() {
        agrees(MissionStatus::ALL);
        agrees(PledgeStatus::ALL);
        agrees(Outcome::ALL);
        agrees(PredictionStatus::ALL);
        agrees(PredictionDecision::ALL);
        agrees(TransferKind::ALL);
        agrees(AccountKind::ALL);
        agrees(DeliveryStatus::ALL);
        agrees(EventKind::ALL);
        agrees(MissionKind::ALL);
        agrees(MessageStatus::ALL);
        agrees(ModerationAction::ALL);
        agrees(OperatorActionKind::ALL);
        agrees(CaseKind::ALL);
        agrees(CaseStatus::ALL);
        agrees(CaseAction::ALL);
        agrees(PayoutStatus::ALL);
        agrees(PayoutKind::ALL);
        agrees(BankTransferStatus::ALL);
        agrees(TopUpStatus::ALL);
        agrees(TopUpEvent::ALL);
        agrees(WebhookStatus::ALL);
        agrees(WebhookDeliveryStatus::ALL);
        assert!(MissionStatus::try_from_value(&"pending".to_owned()).is_err());
    }
}
