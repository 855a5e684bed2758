//! Missions and pledges in GraphQL: their types, the `mission` and `missions` queries and the
//! `missionChanged` subscription. The mutations are in `mission_mutation`.

use super::connection::graphql_int;
use super::connection::{COMPUTED_ORDER_COST, List, PageArgs, list, list_cost};
use super::context::state;
use super::goal::{MissionKind, MissionTier, tiers_of};
use super::loaders::{MissionLoader, TotalsLoader};
use super::money::Won;
pub use super::pledge::Pledge;
pub use super::status::{MissionStatus, Outcome, PledgeStatus};
use super::user::User;
use super::user::load_user;
use crate::error::{ApiError, GqlResult};
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use futures::Stream;
use missionlink_entities::missions::mission;
use missionlink_identity::Role;
use missionlink_ledger::mission::list::{self as lists, MissionFilter, MissionSort};
use missionlink_ledger::mission::{self as domain};
use sea_orm::EntityTrait;
use std::sync::Arc;

/// A mission.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Mission {
    pub id: ID,
    pub title: String,
    pub description: Option<String>,
    pub status: MissionStatus,
    /// A viewer's PROPOSAL or a streamer's GOAL.
    pub kind: MissionKind,
    /// A proposal's accept window ends then (null for a goal: see `fundingEndsAt`).
    pub accept_by: Option<DateTime<Utc>>,
    /// A goal's: what it must hold to start (null for a proposal).
    pub goal: Option<Won>,
    /// A goal's funding ends then: not reached by then, it EXPIRES and every backer is refunded
    /// (null for a proposal).
    pub funding_ends_at: Option<DateTime<Utc>>,
    /// A goal's SUCCESS verdict: the level the streamer delivered, 0 the goal and `n` its
    /// `n`th tier; they were paid up to that level and the rest refunded pro rata. Null: all
    /// of it was earned (and for a proposal).
    pub tier_reached: Option<i32>,
    /// Set once accepted.
    pub deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set once every pledge is paid or refunded.
    pub settled_at: Option<DateTime<Utc>>,
    /// Why the streamer declined it, if they said.
    pub reject_reason: Option<String>,
    /// When the backers' objection window of its SUCCESS verdict ends (or ended); set while
    /// `VERIFYING` and after, with `OBJECTION_WINDOW_SECONDS` > 0.
    pub objection_window_ends_at: Option<DateTime<Utc>>,
    /// When the objections reached the threshold and it became `DISPUTED`.
    pub disputed_at: Option<DateTime<Utc>>,
    /// The https link the streamer gave with their verdict (a clip, the VOD at the moment).
    pub evidence_url: Option<String>,
    /// What the streamer said with their verdict.
    pub verdict_note: Option<String>,
    #[graphql(skip)]
    pub streamer_id: String,
    #[graphql(skip)]
    pub creator_id: String,
    /// `totalPledged` and `backerCount` come from one query, read once per object.
    #[graphql(skip)]
    pub totals: Arc<tokio::sync::OnceCell<domain::Totals>>,
    /// `objectionCount` and `objectedPledged`, likewise.
    #[graphql(skip)]
    pub objections: Arc<tokio::sync::OnceCell<domain::objection::Objections>>,
    /// `totalHeld` and `totalRefunded`, likewise.
    #[graphql(skip)]
    pub holdings: Arc<tokio::sync::OnceCell<domain::Holdings>>,
    /// `fee` and `streamerNet`, likewise (a read of the held pledges: only when asked).
    #[graphql(skip)]
    pub net: Arc<tokio::sync::OnceCell<domain::Net>>,
}

impl TryFrom<mission::Model> for Mission {
    type Error = ApiError;

    fn try_from(m: mission::Model) -> Result<Self, ApiError> {
        let goal = m.kind == missionlink_ledger::status::MissionKind::Goal;
        Ok(Self {
            status: m.status.into(),
            kind: m.kind.into(),
            goal: m.goal_won.map(Won),
            funding_ends_at: goal.then_some(m.accept_by),
            tier_reached: m.tier_reached,
            id: ID(m.id),
            title: m.title,
            description: m.description,
            accept_by: (!goal).then_some(m.accept_by),
            deadline: m.deadline,
            created_at: m.created_at,
            settled_at: m.settled_at,
            reject_reason: m.reject_reason,
            objection_window_ends_at: m.objection_until,
            disputed_at: m.disputed_at,
            evidence_url: m.evidence_url,
            verdict_note: m.verdict_note,
            streamer_id: m.streamer_id,
            creator_id: m.creator_id,
            totals: Arc::default(),
            objections: Arc::default(),
            holdings: Arc::default(),
            net: Arc::default(),
        })
    }
}

impl Mission {
    async fn totals(&self, ctx: &Context<'_>) -> Result<domain::Totals, ApiError> {
        let totals = self
            .totals
            .get_or_try_init(|| async {
                ctx.data_unchecked::<DataLoader<TotalsLoader>>()
                    .load_one(self.id.to_string())
                    .await
                    .map(Option::unwrap_or_default)
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading totals: {e}")))
            })
            .await?;
        Ok(*totals)
    }

    async fn holdings(&self, ctx: &Context<'_>) -> Result<domain::Holdings, ApiError> {
        // The totals through their loader (or as the feed pushed them), then the outflows.
        let found = self
            .holdings
            .get_or_try_init(|| async {
                let pledged = self.totals(ctx).await?.total_won;
                domain::holdings_of(&state(ctx).db.missions, self.id.as_str(), pledged)
                    .await
                    .map_err(ApiError::from)
            })
            .await?;
        Ok(*found)
    }

    async fn net(&self, ctx: &Context<'_>) -> Result<domain::Net, ApiError> {
        let h = self.holdings(ctx).await?;
        let app = state(ctx);
        let found = self
            .net
            .get_or_try_init(|| {
                domain::net(
                    &app.db.missions,
                    self.id.as_str(),
                    self.status.into(),
                    self.tier_reached,
                    &h,
                    app.settings.missions.platform_fee_bps,
                )
            })
            .await
            .map_err(ApiError::from)?;
        Ok(*found)
    }

    async fn objection_totals(
        &self,
        ctx: &Context<'_>,
    ) -> Result<domain::objection::Objections, ApiError> {
        let found = self
            .objections
            .get_or_try_init(|| {
                domain::objection::objections_of(&state(ctx).db.missions, self.id.as_str())
            })
            .await
            .map_err(ApiError::from)?;
        Ok(*found)
    }
}

#[ComplexObject]
impl Mission {
    async fn streamer(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.streamer_id, Role::Streamer).await?)
    }

    async fn creator(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.creator_id, Role::Viewer).await?)
    }

    /// A goal's stretch tiers, lowest first (none for a proposal).
    async fn tiers(&self, ctx: &Context<'_>) -> GqlResult<Vec<MissionTier>> {
        Ok(tiers_of(ctx, self.kind, self.id.as_str()).await?)
    }

    /// Won ever pledged to it, every pledge counted once, whatever became of it (withdrawn,
    /// refunded or paid): see `totalHeld` for what it holds now.
    async fn total_pledged(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        let t = self.totals(ctx).await?;
        Ok(Won::of(t.total_won, "totalPledged")?)
    }

    /// Won in its escrow now: every pledge not withdrawn, paid or refunded (0 once settled).
    async fn total_held(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        Ok(Won::of(self.holdings(ctx).await?.held_won, "totalHeld")?)
    }

    /// Won back with its backers: pledges withdrawn, and refunds once it did not succeed.
    async fn total_refunded(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        Ok(Won::of(
            self.holdings(ctx).await?.refunded_won,
            "totalRefunded",
        )?)
    }

    /// The platform's fee (`platform.feeBps` of each pledge, rounded down per pledge): a
    /// preview over what it holds while it may still succeed, exact once settled; 0 when it
    /// did not succeed.
    async fn fee(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        Ok(Won::of(self.net(ctx).await?.fee_won, "fee")?)
    }

    /// What the streamer gets: what it holds less the fee while it may still succeed (a
    /// preview), what was paid to them once settled; 0 when it did not succeed.
    async fn streamer_net(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        Ok(Won::of(
            self.net(ctx).await?.streamer_net_won,
            "streamerNet",
        )?)
    }

    /// Distinct backers still in, the creator included: a backer who withdrew every pledge no
    /// longer counts.
    async fn backer_count(&self, ctx: &Context<'_>) -> GqlResult<i32> {
        let t = self.totals(ctx).await?;
        Ok(graphql_int(t.backers, "backerCount")?)
    }

    /// The prediction game on this mission; opens when the streamer accepts (or a goal is
    /// reached), unless the streamer turned predictions off: then null.
    async fn prediction(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::prediction::Prediction>> {
        super::prediction::of_mission(ctx, &self.id).await
    }

    /// How many backers objected to its SUCCESS verdict.
    async fn objection_count(&self, ctx: &Context<'_>) -> GqlResult<i32> {
        let count = self.objection_totals(ctx).await?.count;
        Ok(graphql_int(count, "objectionCount")?)
    }

    /// What the objecting backers pledged to it, together: a dispute opens when this reaches
    /// `OBJECTION_THRESHOLD_BPS` of `totalHeld` (and `OBJECTION_MIN_BACKERS` objected).
    async fn objected_pledged(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        let won = self.objection_totals(ctx).await?.won;
        Ok(Won::of(won, "objectedPledged")?)
    }

    /// Objections to its SUCCESS verdict, oldest first: every one for an operator, otherwise
    /// only your own.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn objections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<super::dispute::Objection>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        super::dispute::of_mission(ctx, self.id.as_str(), &args).await
    }

    /// Pledges, oldest first.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn pledges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Pledge>> {
        let select = lists::pledges(Some(self.id.as_str()), None, None);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(
            &state(ctx).db.missions,
            select,
            &lists::pledge_order(false),
            &args,
        )
        .await?)
    }
}

/// What `missions` are sorted by; ties are broken by id.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissionOrderField {
    /// When the mission was proposed.
    CreatedAt,
    /// The next time limit: the accept window while PENDING, the deadline once accepted.
    Deadline,
    /// `totalPledged`.
    TotalPledged,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

/// An order of `missions`; newest first (`CREATED_AT`, `DESC`) when not given.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct MissionOrder {
    pub field: MissionOrderField,
    pub direction: OrderDirection,
}

/// The extra complexity of reading missions in `order`.
pub(crate) fn order_cost(order: Option<&MissionOrder>) -> usize {
    match order.map(|o| o.field) {
        None | Some(MissionOrderField::CreatedAt) => 0,
        Some(MissionOrderField::Deadline | MissionOrderField::TotalPledged) => COMPUTED_ORDER_COST,
    }
}

/// A page of the missions `filter` selects, further filtered by `status` or `statuses` (not
/// both), in `order_by`.
pub(crate) async fn missions_page(
    ctx: &Context<'_>,
    mut filter: MissionFilter,
    status: Option<MissionStatus>,
    statuses: Option<Vec<MissionStatus>>,
    order_by: Option<MissionOrder>,
    args: &PageArgs,
) -> GqlResult<List<Mission>> {
    filter.statuses = match (status, statuses) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("statuses", "give status or statuses, not both").into());
        }
        (Some(one), None) => vec![one.into()],
        // Each status once; an empty list is any status.
        (None, Some(any)) => any
            .into_iter()
            .map(Into::into)
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect(),
        (None, None) => Vec::new(),
    };
    let order = order_by.unwrap_or(MissionOrder {
        field: MissionOrderField::CreatedAt,
        direction: OrderDirection::Desc,
    });
    let sort = match order.field {
        MissionOrderField::CreatedAt => MissionSort::Created,
        MissionOrderField::Deadline => MissionSort::Deadline,
        MissionOrderField::TotalPledged => MissionSort::Total,
    };
    let order = lists::mission_order(sort, order.direction == OrderDirection::Desc);
    Ok(list(
        &state(ctx).db.missions,
        lists::missions(&filter),
        &order,
        args,
    )
    .await?)
}

#[derive(Default)]
pub struct MissionQuery;

#[Object]
impl MissionQuery {
    /// One mission, or null if there is none with this id.
    async fn mission(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Mission>> {
        let found = mission::Entity::find_by_id(id.to_string())
            .one(&state(ctx).db.missions)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Mission::try_from).transpose()?)
    }

    /// Missions, newest first unless `orderBy` says otherwise, optionally of one streamer and
    /// in one `status` or any of `statuses` (not both; an empty list is any status).
    #[graphql(
        complexity = "list_cost(first, last, child_complexity, order_cost(order_by.as_ref()))"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn missions(
        &self,
        ctx: &Context<'_>,
        streamer_id: Option<ID>,
        status: Option<MissionStatus>,
        statuses: Option<Vec<MissionStatus>>,
        order_by: Option<MissionOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Mission>> {
        let filter = MissionFilter {
            streamer_id: streamer_id.map(|s| s.to_string()),
            ..MissionFilter::default()
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        missions_page(ctx, filter, status, statuses, order_by, &args).await
    }
}

#[derive(Default)]
pub struct MissionSubscription;

#[Subscription]
impl MissionSubscription {
    /// The new state of any mission of this streamer, whenever it changes (coalesced: at most a
    /// few updates a second per mission).
    async fn mission_changed(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
    ) -> impl Stream<Item = Mission> + use<> {
        let rx = state(ctx).feed.subscribe();
        let streamer = streamer_id.to_string();
        futures::stream::unfold((rx, streamer), |(mut rx, streamer)| async move {
            loop {
                match rx.recv().await {
                    Ok(m) if m.streamer_id == streamer => {
                        if let Ok(mission) = Mission::try_from(m) {
                            return Some((mission, (rx, streamer)));
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}

/// The mission `id` a pledge or bet belongs to (missions are never deleted).
pub(crate) async fn load_mission(
    ctx: &async_graphql::Context<'_>,
    id: &str,
) -> Result<Mission, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<MissionLoader>>();
    let found = loader
        .load_one(id.to_owned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading mission {id}: {e}")))?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("mission {id} is missing")))?;
    Mission::try_from(found)
}
