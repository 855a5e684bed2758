//! What operators do, in GraphQL (operators only): `resolveDispute`, `cancelMission`,
//! `suspendUser`, `unsuspendUser`, `holdPayout`, `releasePayout`, `cancelPayoutAsOperator`,
//! and the record of it all, `operatorActions`. Each action is
//! recorded in the missions database with its effect there; a mission's workflow is then told
//! (the `operatorAction` signal) right away, or by the worker's relay.

use super::background::hand_to_workflow;
use super::connection::{List, PageArgs, list, list_cost};
use super::context::{caller, state};
use super::mission::load_mission;
use super::mission::{Mission, Outcome};
use super::payout::Payout;
use super::user::User;
use super::user::load_user;
use crate::error::{ApiError, GqlResult};
use crate::state::AppState;
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::operator_action;
use missionlink_identity::Role;
use missionlink_ledger::listing::Order;
use missionlink_ledger::operator::{self as domain, Acting};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// One recorded operator action.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct OperatorAction {
    pub id: ID,
    pub action: OperatorActionKind,
    /// Why: the operator's note.
    pub note: String,
    pub created_at: DateTime<Utc>,
    /// A dispute's resolution.
    pub outcome: Option<Outcome>,
    /// A suspension's end; null on a suspension means until lifted.
    pub suspended_until: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub operator_id: String,
    #[graphql(skip)]
    pub mission_id: Option<String>,
    #[graphql(skip)]
    pub user_id: Option<String>,
    #[graphql(skip)]
    pub cause_id: Option<String>,
    #[graphql(skip)]
    pub payout_id: Option<String>,
    #[graphql(skip)]
    pub case_id: Option<String>,
}

/// What an operator did.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::OperatorActionKind")]
pub enum OperatorActionKind {
    /// Settled a `DISPUTED` mission as `SUCCEEDED` or `FAILED`.
    ResolveDispute,
    /// Cancelled a mission that was not final; every backer is refunded.
    CancelMission,
    SuspendUser,
    UnsuspendUser,
    /// Held a payout waiting out its hold: it waits for an operator instead of leaving.
    HoldPayout,
    /// Let a held payout go on to the bank.
    ReleasePayout,
    /// Cancelled a payout before it left (by hand, or by suspending its streamer): the whole
    /// amount back to earnings.
    CancelPayout,
    /// Approved a viewer's streamer application: the account is a streamer with a verified
    /// channel.
    ApproveStreamer,
    /// Refused a viewer's streamer application.
    RefuseStreamer,
    /// Settled a reconciliation case (see `case`).
    ResolveReconciliation,
    /// Read one user's money (`userMoney`).
    ReadUserMoney,
}

impl TryFrom<operator_action::Model> for OperatorAction {
    type Error = ApiError;

    fn try_from(a: operator_action::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(a.id),
            action: a.action.into(),
            note: a.note,
            created_at: a.created_at,
            outcome: a.outcome.map(Into::into),
            suspended_until: a.suspended_until,
            operator_id: a.operator_id,
            mission_id: a.mission_id,
            user_id: a.user_id,
            cause_id: a.cause_id,
            payout_id: a.payout_id,
            case_id: a.case_id,
        })
    }
}

#[ComplexObject]
impl OperatorAction {
    /// The operator who did it.
    async fn operator(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.operator_id, Role::Operator).await?)
    }

    /// The mission resolved or cancelled.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<Option<Mission>> {
        match &self.mission_id {
            Some(id) => Ok(Some(load_mission(ctx, id).await?)),
            None => Ok(None),
        }
    }

    /// The user suspended or unsuspended, whose streamer application was decided, or whose
    /// money was read.
    async fn user(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        match &self.user_id {
            Some(id) => Ok(Some(load_user(ctx, id, Role::Viewer).await?)),
            None => Ok(None),
        }
    }

    /// The payout held, released or cancelled.
    async fn payout(&self, ctx: &Context<'_>) -> GqlResult<Option<Payout>> {
        let Some(id) = &self.payout_id else {
            return Ok(None);
        };
        let found = missionlink_ledger::payout::find(&state(ctx).db.missions, id)
            .await
            .map_err(ApiError::from)?;
        Ok(Some(Payout::try_from(found)?))
    }

    /// The reconciliation case settled.
    async fn case(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::reconciliation::ReconciliationCase>> {
        let Some(id) = &self.case_id else {
            return Ok(None);
        };
        let found = missionlink_ledger::reconcile::cases::find(&state(ctx).db.missions, id)
            .await
            .map_err(ApiError::from)?;
        Ok(Some(found.try_into()?))
    }

    /// The suspension that cancelled this mission or payout, if one did.
    async fn cause(&self, ctx: &Context<'_>) -> GqlResult<Option<OperatorAction>> {
        let Some(id) = &self.cause_id else {
            return Ok(None);
        };
        let found = domain::find(&state(ctx).db.missions, id)
            .await
            .map_err(ApiError::from)?;
        Ok(Some(OperatorAction::try_from(found)?))
    }
}

/// The caller, if an operator; `FORBIDDEN` otherwise.
pub(crate) fn operator(ctx: &Context<'_>) -> Result<String, ApiError> {
    let claims = caller(ctx)?;
    if claims.role != Role::Operator {
        return Err(ApiError::Forbidden("only operators may do this".into()));
    }
    Ok(claims.sub.clone())
}

#[derive(Default)]
pub struct OperatorQuery;

#[Object]
impl OperatorQuery {
    /// What operators did, newest first, optionally about one mission, one user or one payout
    /// (operators only).
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    #[allow(clippy::too_many_arguments)]
    async fn operator_actions(
        &self,
        ctx: &Context<'_>,
        mission_id: Option<ID>,
        user_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        payout_id: Option<ID>,
    ) -> GqlResult<List<OperatorAction>> {
        operator(ctx)?;
        let mut select = operator_action::Entity::find();
        if let Some(id) = &mission_id {
            select = select.filter(operator_action::Column::MissionId.eq(id.as_str()));
        }
        if let Some(id) = &user_id {
            select = select.filter(operator_action::Column::UserId.eq(id.as_str()));
        }
        if let Some(id) = &payout_id {
            select = select.filter(operator_action::Column::PayoutId.eq(id.as_str()));
        }
        // Ids are UUIDv7: their order is the order the actions were recorded in.
        let order = Order {
            tag: "operator-actions:created",
            sort: None,
            id: Expr::col((operator_action::Entity, operator_action::Column::Id)),
            descending: true,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(&state(ctx).db.missions, select, &order, &args).await?)
    }
}

#[derive(Default)]
pub struct OperatorMutation;

#[Object]
impl OperatorMutation {
    /// Settles a `DISPUTED` mission (operators only): `SUCCESS` pays the streamer, `FAILURE`
    /// refunds every backer. `note` (required, at most 1,000 characters) says why; it is
    /// recorded with the action and sent to the mission's workflow.
    async fn resolve_dispute(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        outcome: Outcome,
        note: String,
    ) -> GqlResult<Mission> {
        let acting = Acting::new(&operator(ctx)?, &note).map_err(ApiError::from)?;
        let app = state(ctx);
        let (m, _) = domain::resolve(
            &app.db.missions,
            &acting,
            mission_id.as_str(),
            outcome.into(),
        )
        .await
        .map_err(ApiError::from)?;
        missionlink_telemetry::metrics().dispute_resolved(outcome == Outcome::Success);
        hand_to_workflow(app, &m.id);
        Ok(Mission::try_from(m)?)
    }

    /// Cancels a mission from any status that is not final (operators only): every backer is
    /// refunded, and every bet. `note` is required, and is the reason every backer's and the
    /// streamer's email gives, with `OPERATOR_CONTACT`: write it for them.
    async fn cancel_mission(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        note: String,
    ) -> GqlResult<Mission> {
        let acting = Acting::new(&operator(ctx)?, &note).map_err(ApiError::from)?;
        let app = state(ctx);
        let (m, _) = domain::cancel(&app.db.missions, &acting, mission_id.as_str())
            .await
            .map_err(ApiError::from)?;
        cancelled(app, std::slice::from_ref(&m.id));
        Ok(Mission::try_from(m)?)
    }

    /// Suspends a user until `until` (or until lifted, when null; operators only, never
    /// themselves): they cannot log in, refresh, or act with a token they hold (within
    /// `USER_CACHE_SECONDS`), and their websockets are closed. A suspended streamer's missions
    /// that are not final are cancelled and refunded (their backers are told the streamer was
    /// suspended; the note stays with the operators); a suspended viewer's pledges stay where
    /// they are.
    async fn suspend_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        until: Option<DateTime<Utc>>,
        note: String,
    ) -> GqlResult<OperatorAction> {
        let acting = Acting::new(&operator(ctx)?, &note).map_err(ApiError::from)?;
        let app = state(ctx);
        let user = app
            .auth
            .user(user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        missionlink_identity::suspend::may_suspend(&acting, &user, false)
            .map_err(ApiError::from)?;
        let done = missionlink_identity::suspend::suspend(
            &app.db.users,
            &app.db.missions,
            &acting,
            &user,
            until,
        )
        .await
        .map_err(ApiError::from)?;
        cancelled(app, &done.missions);
        for id in &done.payouts {
            payout_reviewed(app, id, true);
        }
        app.auth.active_users.forget(user_id.as_str()).await;
        Ok(OperatorAction::try_from(done.action)?)
    }

    /// Holds a payout still waiting out its hold (operators only): when the hold ends it waits
    /// for an operator instead of leaving for the bank. `INVALID_STATE` once it left, or when
    /// it is held already. `note` is required.
    async fn hold_payout(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        note: String,
    ) -> GqlResult<Payout> {
        on_payout(ctx, &payout_id, &note, PayoutAction::Hold).await
    }

    /// Lets a held payout go on to the bank (operators only; at once if its hold has ended).
    /// `INVALID_STATE` if it is not held, or while its streamer is suspended.
    async fn release_payout(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        note: String,
    ) -> GqlResult<Payout> {
        on_payout(ctx, &payout_id, &note, PayoutAction::Release).await
    }

    /// Cancels a payout that has not left (REQUESTED, held or not; operators only): the whole
    /// amount goes back to the streamer's earnings. `INVALID_STATE` once it left.
    async fn cancel_payout_as_operator(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        note: String,
    ) -> GqlResult<Payout> {
        on_payout(ctx, &payout_id, &note, PayoutAction::Cancel).await
    }

    /// Lifts a user's suspension (operators only). Missions cancelled by it stay cancelled.
    async fn unsuspend_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        note: String,
    ) -> GqlResult<OperatorAction> {
        let acting = Acting::new(&operator(ctx)?, &note).map_err(ApiError::from)?;
        let app = state(ctx);
        app.auth
            .user(user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        let action = domain::unsuspend(&app.db.missions, &acting, user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        missionlink_identity::suspension::unsuspend(&app.db.users, user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        app.auth.active_users.forget(user_id.as_str()).await;
        Ok(OperatorAction::try_from(action)?)
    }
}

/// What an operator does to a payout that has not left.
#[derive(Clone, Copy)]
enum PayoutAction {
    Hold,
    Release,
    Cancel,
}

/// Runs `action` on `payout_id` as the calling operator with `note`, counts it and tells the
/// payout's workflow.
async fn on_payout(
    ctx: &Context<'_>,
    payout_id: &ID,
    note: &str,
    action: PayoutAction,
) -> GqlResult<Payout> {
    let acting = Acting::new(&operator(ctx)?, note).map_err(ApiError::from)?;
    let app = state(ctx);
    let (db, id) = (&app.db.missions, payout_id.as_str());
    let (done, label) = match action {
        PayoutAction::Hold => (domain::hold(db, &acting, id).await, "HOLD"),
        PayoutAction::Release => (domain::release(db, &acting, id).await, "RELEASE"),
        PayoutAction::Cancel => (domain::cancel_payout(db, &acting, id).await, "CANCEL"),
    };
    let (p, _) = done.map_err(ApiError::from)?;
    missionlink_telemetry::metrics().payout_operator_action(label);
    payout_reviewed(app, &p.id, matches!(action, PayoutAction::Cancel));
    Ok(Payout::try_from(p)?)
}

/// After an operator changed a payout: counted as finished when it was cancelled, and its
/// workflow told (best effort: a held workflow reads its row again within `HELD_RECHECK`, one
/// waiting out the hold reads it when the hold ends).
fn payout_reviewed(app: &AppState, payout_id: &str, cancelled: bool) {
    if cancelled {
        missionlink_telemetry::metrics().payout_finished("CANCELLED");
    }
    super::background::after_commit(
        app,
        payout_id,
        "payout review not signalled; the workflow reads the payout again on its own",
        |app, id| async move {
            let client = app.temporal.client().await?;
            missionlink_workflows::payout::outbox::signal_reviewed(&client, &id).await
        },
    );
}

/// After missions were cancelled (each announced by its transaction): counted, workflows told.
fn cancelled(app: &AppState, mission_ids: &[String]) {
    for id in mission_ids {
        missionlink_telemetry::metrics().mission_cancelled_by_operator();
        hand_to_workflow(app, id);
    }
}
