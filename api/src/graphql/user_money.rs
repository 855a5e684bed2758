//! The operator's money view (issue 26, item 5): `userMoney(userId, reason)`, one user's
//! wallet (balances, what they owe, statement, top-ups, payouts), pledges and reconciliation
//! cases, for operators only. Each read is first recorded as an operator action
//! (`READ_USER_MONEY`, with `reason` as its note): nothing is shown unrecorded.

use super::connection::{List, PageArgs, list, list_cost};
use super::context::state;
use super::operator::{OperatorAction, operator};
use super::pledge::Pledge;
use super::reconciliation::{ReconciliationCase, ReconciliationCaseStatus, case_list};
use super::status::PledgeStatus;
use super::types::Wallet;
use super::user::{User, load_user};
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use missionlink_identity::Role;
use missionlink_ledger::mission::list as lists;
use missionlink_ledger::operator::{self as domain, Acting};

/// One user's money, as an operator reads it.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct UserMoney {
    /// Balances, what is owed, the statement, top-ups and payouts.
    pub wallet: Wallet,
    /// The record of this read.
    pub read: OperatorAction,
    #[graphql(skip)]
    pub user_id: String,
}

#[ComplexObject]
impl UserMoney {
    pub async fn user(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.user_id, Role::Viewer).await?)
    }

    /// Their pledges, newest first, optionally in one status.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn pledges(
        &self,
        ctx: &Context<'_>,
        status: Option<PledgeStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Pledge>> {
        let select = lists::pledges(None, Some(&self.user_id), status.map(Into::into));
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(
            &state(ctx).db.missions,
            select,
            &lists::pledge_order(true),
            &args,
        )
        .await?)
    }

    /// Their reconciliation cases, oldest first, optionally of one status.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        status: Option<ReconciliationCaseStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<ReconciliationCase>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        case_list(ctx, status, None, Some(&self.user_id), args).await
    }
}

#[derive(Default)]
pub struct UserMoneyQuery;

#[Object]
impl UserMoneyQuery {
    /// One user's money (operators only): wallet, statement, top-ups, payouts, pledges and
    /// reconciliation cases. `reason` (required, at most 1,000 characters) says why; each read
    /// is recorded as an operator action (`READ_USER_MONEY`) before anything is shown.
    /// `NOT_FOUND` (nothing recorded) for a user who holds no money here.
    async fn user_money(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        reason: String,
    ) -> GqlResult<UserMoney> {
        let operator_id = operator(ctx)?;
        let acting = Acting::new(&operator_id, &reason).map_err(ApiError::from)?;
        let db = &state(ctx).db.missions;
        let read = domain::record_money_read(db, &acting, user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        let balances = missionlink_ledger::wallet::read(db, user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        Ok(UserMoney {
            wallet: Wallet::of(user_id.as_str(), balances)?,
            read: OperatorAction::try_from(read)?,
            user_id: user_id.to_string(),
        })
    }
}
