//! GraphQL object types and their conversions from domain values.

use super::connection::{List, PageArgs, list_cost};
use super::money::{Points, Won};
use super::payout::{Payout, PayoutAccount};
use super::statement::{Transaction, TransactionKind};
use super::status::{PayoutStatus, TopUpStatus};
use super::topup::{TopUp, TopUpLimit};
use super::user::User;
use crate::error::ApiError;
use crate::error::GqlResult;
use async_graphql::{ComplexObject, Context, SimpleObject};
use missionlink_identity::Session;
use missionlink_ledger::wallet;

/// A user's balances, the statement of how they got there (`transactions`) and, for a
/// streamer, where payouts go and the payouts requested.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Wallet {
    /// Spendable won.
    pub cash: Won,
    /// Game points, never convertible to cash.
    pub points: Points,
    /// Won paid out to this user as a streamer.
    pub earnings: Won,
    /// Won you owe: a top-up the payment provider gave back to your card after you had spent
    /// it. Your next top-ups and refunds pay it back first (the statement shows `REPAYMENT`).
    pub owed: Won,
    /// Whose wallet it is: the caller's (only `wallet` and `topUp` return one).
    #[graphql(skip)]
    pub user_id: String,
}

impl Wallet {
    /// `user_id`'s balances `w` as GraphQL reads them.
    pub fn of(user_id: &str, w: wallet::Wallet) -> Result<Self, ApiError> {
        Ok(Self {
            user_id: user_id.to_owned(),
            cash: Won::of(w.cash_won, "cash balance")?,
            points: Points::of(w.points, "points balance")?,
            earnings: Won::of(w.earnings_won, "earnings balance")?,
            owed: Won::of(w.owed_won, "owed")?,
        })
    }
}

#[ComplexObject]
impl Wallet {
    /// Every movement of your cash, points and earnings, newest first, each with the balance
    /// after it; only the `kind`s given, if any. Read from the ledger's journal, a page at a
    /// time in the same time however long the history.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        kind: Option<Vec<TransactionKind>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Transaction>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        super::statement::transactions(ctx, &self.user_id, kind, args).await
    }

    /// Where your cash refunds go (`requestCashRefund`); null until set with
    /// `setRefundAccount`.
    async fn refund_account(&self, ctx: &Context<'_>) -> GqlResult<Option<PayoutAccount>> {
        super::cash_refund::refund_account(ctx, &self.user_id).await
    }

    /// Where your payouts go; null until set with `setPayoutAccount`.
    async fn payout_account(&self, ctx: &Context<'_>) -> GqlResult<Option<PayoutAccount>> {
        super::payout::payout_account(ctx, &self.user_id).await
    }

    /// Your payouts, newest first; only those of `status` if given.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        status: Option<PayoutStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Payout>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        super::payout::payouts(ctx, &self.user_id, status, args).await
    }

    /// Your top-ups through the payment provider, newest first; only those of `status` if
    /// given.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn top_ups(
        &self,
        ctx: &Context<'_>,
        status: Option<TopUpStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<TopUp>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        super::topup::top_ups(ctx, &self.user_id, status, args).await
    }

    /// How much you may still top up today (Asia/Seoul day) and when that resets.
    async fn top_up_limit(&self, ctx: &Context<'_>) -> GqlResult<TopUpLimit> {
        super::topup::top_up_limit(ctx, &self.user_id).await
    }

    /// Where you stand with the game's daily points (`claimDailyPoints`).
    async fn daily_points(&self, ctx: &Context<'_>) -> GqlResult<super::daily::DailyPoints> {
        super::daily::standing(ctx, &self.user_id).await
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    pub user: User,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            user: s.user.into(),
        }
    }
}
