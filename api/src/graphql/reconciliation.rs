//! Reconciliation in GraphQL (operators only, issue 26, item 4): `reconciliationCases`, the
//! queue of disagreements with the payment provider or bank, and `resolveReconciliation`.
//! The work is `crate::reconciliation`'s and the ledger's.

use super::connection::{List, PageArgs, list, list_cost};
use super::context::state;
use super::money::Won;
use super::operator::{OperatorAction, operator};
use super::payout::Payout;
use super::topup::TopUp;
use super::user::{User, load_user};
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::reconciliation_case as case_row;
use missionlink_identity::Role;
use missionlink_ledger::reconcile::cases;
use missionlink_telemetry::metrics;

/// What the payment provider or bank did that the ledger disagrees with.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::CaseKind")]
pub enum ReconciliationCaseKind {
    /// A credited top-up's payment was cancelled whole at the provider (its console, the card
    /// issuer), outside `cancelTopUp`: the won went back to the card.
    TopupCancelledAtProvider,
    /// Part of a credited top-up's payment was cancelled at the provider.
    PartialCancelAtProvider,
    /// The provider took a payment it describes otherwise than our order (another amount or
    /// order, or for a top-up that had failed): never credited.
    AmountMismatch,
    /// The provider took a payment past the day's limit or the order's time: never credited.
    OverLimit,
    /// A paid payout the bank sent back (the worker asks the bank about paid payouts again for
    /// `PAYOUT_RETURN_WATCH_DAYS`).
    PayoutReturnedByBank,
}

/// Whether an operator has settled a case.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::CaseStatus")]
pub enum ReconciliationCaseStatus {
    Open,
    Resolved,
}

/// How an operator settles a case.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::CaseAction")]
pub enum ReconciliationAction {
    /// Take the won back from the user's cash; what it does not cover becomes owed
    /// (`Wallet.owed`), repaid first from later top-ups and refunds. Cancels at the provider
    /// only.
    DebitWallet,
    /// Record the whole amount as owed, leaving the cash as it is. Cancels at the provider only.
    RecordReceivable,
    /// Have the provider give back a payment that was never credited. Payments taken only.
    RefundAtProvider,
    /// Give a payout the bank sent back to the balance it was paid from (the streamer's
    /// earnings, or the cash of a cash refund), to be requested again. Payouts sent back only.
    ReturnToBalance,
    /// Move nothing (settled outside MissionLink, or written off); the note says why.
    NoAction,
}

/// A disagreement with the payment provider or bank, until an operator settles it.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ReconciliationCase {
    pub id: ID,
    pub kind: ReconciliationCaseKind,
    pub status: ReconciliationCaseStatus,
    /// Won in question: cancelled at the provider, taken and not credited, or sent back.
    pub amount: Won,
    /// What the provider or bank said.
    pub detail: String,
    pub opened_at: DateTime<Utc>,
    pub resolution: Option<ReconciliationAction>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Won the resolution took from the user's cash.
    pub debited: Won,
    /// Won the resolution recorded as owed.
    pub owed: Won,
    /// Won the resolution gave back (a payout sent back: to earnings, or a cash refund's cash).
    pub returned: Won,
    #[graphql(skip)]
    pub user_id: String,
    #[graphql(skip)]
    pub top_up_id: Option<String>,
    #[graphql(skip)]
    pub payout_id: Option<String>,
    #[graphql(skip)]
    pub resolved_by: Option<String>,
}

impl TryFrom<case_row::Model> for ReconciliationCase {
    type Error = ApiError;

    fn try_from(c: case_row::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(c.id),
            kind: c.kind.into(),
            status: c.status.into(),
            amount: Won::of(c.amount, "case amount")?,
            detail: c.detail,
            opened_at: c.opened_at,
            resolution: c.resolution.map(Into::into),
            resolved_at: c.resolved_at,
            debited: Won::of(c.debited, "debited")?,
            owed: Won::of(c.owed, "owed")?,
            returned: Won::of(c.returned, "returned")?,
            user_id: c.user_id,
            top_up_id: c.top_up_id,
            payout_id: c.payout_id,
            resolved_by: c.resolved_by,
        })
    }
}

#[ComplexObject]
impl ReconciliationCase {
    /// Whose money it is.
    async fn user(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.user_id, Role::Viewer).await?)
    }

    /// The top-up it is about (null for a payout's case, or an order swept since).
    async fn top_up(&self, ctx: &Context<'_>) -> GqlResult<Option<TopUp>> {
        let Some(id) = &self.top_up_id else {
            return Ok(None);
        };
        match missionlink_ledger::topup::find(&state(ctx).db.missions, id).await {
            Ok(found) => Ok(Some(TopUp::try_from(found)?)),
            Err(missionlink_ledger::LedgerError::NotFound(_)) => Ok(None),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }

    /// The payout it is about.
    async fn payout(&self, ctx: &Context<'_>) -> GqlResult<Option<Payout>> {
        let Some(id) = &self.payout_id else {
            return Ok(None);
        };
        let found = missionlink_ledger::payout::find(&state(ctx).db.missions, id)
            .await
            .map_err(ApiError::from)?;
        Ok(Some(Payout::try_from(found)?))
    }

    /// The operator action that settled it.
    async fn resolved_by(&self, ctx: &Context<'_>) -> GqlResult<Option<OperatorAction>> {
        let Some(id) = &self.resolved_by else {
            return Ok(None);
        };
        let found = missionlink_ledger::operator::find(&state(ctx).db.missions, id)
            .await
            .map_err(ApiError::from)?;
        Ok(Some(OperatorAction::try_from(found)?))
    }
}

/// A page of cases of `status`, `kind` and `user_id` when given, oldest first: a work queue.
pub(super) async fn case_list(
    ctx: &Context<'_>,
    status: Option<ReconciliationCaseStatus>,
    kind: Option<ReconciliationCaseKind>,
    user_id: Option<&str>,
    args: PageArgs,
) -> GqlResult<List<ReconciliationCase>> {
    let select = cases::cases(status.map(Into::into), kind.map(Into::into), user_id);
    Ok(list(
        &state(ctx).db.missions,
        select,
        &cases::case_order(false),
        &args,
    )
    .await?)
}

#[derive(Default)]
pub struct ReconciliationQuery;

#[Object]
impl ReconciliationQuery {
    /// Disagreements with the payment provider or bank, oldest first; only those of `status`
    /// and `kind` if given (operators only). Open ones past `RECONCILIATION_SLA_SECONDS` raise
    /// `MissionLinkReconciliationOverdue`.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    #[allow(clippy::too_many_arguments)]
    async fn reconciliation_cases(
        &self,
        ctx: &Context<'_>,
        status: Option<ReconciliationCaseStatus>,
        kind: Option<ReconciliationCaseKind>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<ReconciliationCase>> {
        operator(ctx)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        case_list(ctx, status, kind, None, args).await
    }
}

#[derive(Default)]
pub struct ReconciliationMutation;

#[Object]
impl ReconciliationMutation {
    /// Settles an open case (operators only), recorded as an operator action with `note`
    /// (required, at most 1,000 characters). A cancel at the provider takes `DEBIT_WALLET` (the
    /// user's cash gives what it holds, the rest is owed), `RECORD_RECEIVABLE` (all owed) or
    /// `NO_ACTION`; a payment taken and never credited takes `REFUND_AT_PROVIDER` (the provider
    /// cancels it first; `PAYMENT_PENDING` when it does not answer, the case still open: resolve
    /// again) or `NO_ACTION`; a payout the bank sent back `RETURN_TO_BALANCE` or `NO_ACTION`.
    /// Refused, nothing changed: another action (`BAD_USER_INPUT`), a case resolved already
    /// (`INVALID_STATE`).
    async fn resolve_reconciliation(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        action: ReconciliationAction,
        note: String,
    ) -> GqlResult<ReconciliationCase> {
        let operator_id = operator(ctx)?;
        let done = crate::reconciliation::resolve(
            state(ctx),
            &operator_id,
            case_id.as_str(),
            action.into(),
            &note,
        )
        .await?;
        metrics().reconciliation_resolved(done.case.resolution.map_or("", |r| r.as_str()));
        Ok(ReconciliationCase::try_from(done.case)?)
    }
}
