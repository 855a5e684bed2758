//! The wallet statement in GraphQL: `Wallet.transactions`, every movement of the caller's cash,
//! points and earnings, newest first, each with the balance after it
//! ([`missionlink_ledger::statement`]).

use super::connection::{List, PageArgs, page_list};
use super::context::state;
use super::mission::Mission;
use super::mission::load_mission;
use super::money::SignedAmount;
use super::payout::Payout;
use super::topup::TopUp;
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_ledger::statement::{self, Entry};

/// What a movement was.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::statement::EntryKind")]
pub enum TransactionKind {
    /// Won in from the payment provider (cash).
    TopUp,
    /// A withdrawn top-up: won back out to the payment provider (`cancelTopUp`; cash).
    Withdrawal,
    /// A withdrawal the payment provider refused to cancel: the won back in (cash).
    WithdrawalReturned,
    /// Won held for a mission (cash).
    Pledge,
    /// A held pledge given back: the mission failed, was rejected or expired (cash).
    Refund,
    /// A pledge you withdrew while its mission was PENDING (`withdrawPledge`), back at once.
    PledgeWithdrawn,
    /// A successful mission's pledges, less the platform fee (earnings).
    PayoutReceived,
    /// Earnings requested out to your bank account (`requestPayout`; see `payout`).
    PayoutToBank,
    /// The fee of a payout to your bank account (`PAYOUT_FEE_WON`).
    PayoutFee,
    /// A failed or cancelled payout's amount, fee included, back in your earnings; or what the
    /// bank sent back of a paid payout (its net: the fee is kept).
    PayoutReturned,
    /// Points staked on a prediction.
    Bet,
    /// Points won on a prediction.
    BetPayout,
    /// Points given back from a prediction nobody won.
    BetRefund,
    /// A new user's starting points.
    SignupPoints,
    /// Points claimed for the day (`claimDailyPoints`): `DAILY_POINTS` and the streak's bonus.
    DailyPoints,
    /// Won the payment provider gave back to your card after they were credited (a top-up
    /// cancelled at the provider), taken back from your cash by an operator's reconciliation.
    ProviderReversal,
    /// What such a reversal could not take from your cash: owed (`Wallet.owed`; balance `OWED`).
    Owed,
    /// Cash from a top-up or refund paying back what you owe (cash).
    Repayment,
    /// The same repayment, as what you owe shrinks (balance `OWED`).
    OwedRepaid,
    /// Cash refunded to your refund account (`requestCashRefund`; see `payout`).
    CashRefund,
    /// The fee of a cash refund (`CASH_REFUND_FEE_BPS`, waived once most of what you were
    /// charged is used).
    CashRefundFee,
    /// A failed or cancelled cash refund's amount, fee included, back in your cash.
    CashRefundReturned,
}

/// Which of the wallet's balances a movement changed.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::statement::Balance")]
pub enum WalletBalance {
    /// `Wallet.cash`, in won.
    Cash,
    /// `Wallet.points`, in points.
    Points,
    /// `Wallet.earnings`, in won.
    Earnings,
    /// Minus `Wallet.owed`, in won (never above zero).
    Owed,
}

/// One movement of the wallet: a line of its statement.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Transaction {
    /// The ledger transfer's id.
    pub id: ID,
    pub kind: TransactionKind,
    /// The balance it changed; `amount` and `balanceAfter` are in its unit (won or points).
    pub balance: WalletBalance,
    /// Into the balance (positive) or out of it (negative).
    pub amount: SignedAmount,
    /// The balance right after this movement.
    pub balance_after: SignedAmount,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub mission_id: Option<String>,
    #[graphql(skip)]
    pub payout_id: Option<String>,
}

impl TryFrom<Entry> for Transaction {
    type Error = ApiError;

    fn try_from(e: Entry) -> Result<Self, ApiError> {
        Ok(Self {
            amount: SignedAmount::of(e.amount, "statement amount")?,
            balance_after: SignedAmount::of(e.balance_after, "balance after")?,
            id: ID(e.id),
            kind: e.kind.into(),
            balance: e.balance.into(),
            created_at: e.at,
            mission_id: e.mission_id,
            payout_id: e.payout_id,
        })
    }
}

#[ComplexObject]
impl Transaction {
    /// The mission it concerns: a pledge, refund, payout received, bet or bet payout.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<Option<Mission>> {
        match &self.mission_id {
            Some(id) => Ok(Some(load_mission(ctx, id).await?)),
            None => Ok(None),
        }
    }

    /// The payout it concerns: to the bank, its fee, or back into earnings.
    async fn payout(&self, ctx: &Context<'_>) -> GqlResult<Option<Payout>> {
        match &self.payout_id {
            Some(id) => Ok(Some(super::payout::own_payout(ctx, id).await?)),
            None => Ok(None),
        }
    }

    /// The top-up it concerns: paid through the payment provider, withdrawn, or a withdrawal
    /// given back (null for the sandbox `topUp`).
    async fn top_up(&self, ctx: &Context<'_>) -> GqlResult<Option<TopUp>> {
        if !matches!(
            self.kind,
            TransactionKind::TopUp
                | TransactionKind::Withdrawal
                | TransactionKind::WithdrawalReturned
        ) {
            return Ok(None);
        }
        let found = missionlink_ledger::topup::of_transfer(&state(ctx).db.missions, &self.id)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(TopUp::try_from).transpose()?)
    }
}

/// `Wallet.transactions`: a page of `user_id`'s statement.
pub(super) async fn transactions(
    ctx: &Context<'_>,
    user_id: &str,
    kind: Option<Vec<TransactionKind>>,
    args: PageArgs,
) -> GqlResult<List<Transaction>> {
    let kinds_given = kind.is_some();
    let kinds: Vec<statement::EntryKind> = kind
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect();
    let db = &state(ctx).db.missions;
    let window = args.window()?;
    let page = statement::page(db, user_id, &kinds, kinds_given, &window)
        .await
        .map_err(ApiError::from)?;
    Ok(page_list(db, page, statement::counted(user_id, &kinds))?)
}
