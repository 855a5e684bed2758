//! Missions and pledges in GraphQL: types, queries, mutations and the subscription.

use super::context::{caller, state};
use super::money::Won;
pub use super::status::{MissionStatus, Outcome, PledgeStatus};
use super::types::{User, graphql_int};
use crate::auth::Role;
use crate::error::{ApiError, GqlResult};
use crate::state::AppState;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use missionlink_entities::missions::{mission, pledge};
use missionlink_entities::users::user;
use missionlink_ledger::changes;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::mission::{self as domain, NewMission, StreamerAction};
use missionlink_ledger::status::MissionStatus as LedgerMissionStatus;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest page of `missions` or `pledges`.
pub const MAX_PAGE: i32 = 100;
/// Page size when `first` is not given.
pub const DEFAULT_PAGE: i32 = 20;

/// Loads users from the users database by id, batched per request.
pub struct UserLoader(pub DatabaseConnection);

impl Loader<String> for UserLoader {
    type Value = user::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, user::Model>, Self::Error> {
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(keys.to_vec()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect())
    }
}

/// The user `id`, or — if that user's row is gone — a placeholder with the same id: a mission
/// or pledge stays readable (its user fields are non-null) after its user is deleted.
async fn load_user(ctx: &Context<'_>, id: &str, role: Role) -> Result<User, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let found = loader
        .load_one(id.to_owned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading user {id}: {e}")))?;
    match found {
        Some(user) => User::try_from(user),
        None => Ok(deleted_user(id, role)),
    }
}

/// Handle of the placeholder shown for a user who no longer exists; no real handle can be it
/// (handles are letters, digits and underscores).
pub const DELETED_USER_HANDLE: &str = "deleted-user";

fn deleted_user(id: &str, role: Role) -> User {
    User {
        id: ID(id.to_owned()),
        handle: DELETED_USER_HANDLE.to_owned(),
        display_name: "Deleted user".to_owned(),
        role,
    }
}

/// A mission.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Mission {
    pub id: ID,
    pub title: String,
    pub description: Option<String>,
    pub status: MissionStatus,
    pub accept_by: Option<DateTime<Utc>>,
    /// Set once accepted.
    pub deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set once every pledge is paid or refunded.
    pub settled_at: Option<DateTime<Utc>>,
    /// Why the streamer declined it, if they said.
    pub reject_reason: Option<String>,
    #[graphql(skip)]
    pub streamer_id: String,
    #[graphql(skip)]
    pub creator_id: String,
    /// `totalPledged` and `backerCount` come from one query, read once per object.
    #[graphql(skip)]
    pub totals: Arc<tokio::sync::OnceCell<domain::Totals>>,
}

impl TryFrom<mission::Model> for Mission {
    type Error = ApiError;

    fn try_from(m: mission::Model) -> Result<Self, ApiError> {
        Ok(Self {
            status: m.status.into(),
            id: ID(m.id),
            title: m.title,
            description: m.description,
            accept_by: Some(m.accept_by),
            deadline: m.deadline,
            created_at: m.created_at,
            settled_at: m.settled_at,
            reject_reason: m.reject_reason,
            streamer_id: m.streamer_id,
            creator_id: m.creator_id,
            totals: Arc::default(),
        })
    }
}

impl Mission {
    async fn totals(&self, ctx: &Context<'_>) -> Result<domain::Totals, ApiError> {
        let totals = self
            .totals
            .get_or_try_init(|| domain::totals(&state(ctx).db.missions, &self.id))
            .await?;
        Ok(*totals)
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

    /// Won pledged so far, every pledge counted once.
    async fn total_pledged(&self, ctx: &Context<'_>) -> GqlResult<Won> {
        let t = self.totals(ctx).await?;
        Ok(Won::of(t.total_won, "totalPledged")?)
    }

    /// Distinct backers, the creator included.
    async fn backer_count(&self, ctx: &Context<'_>) -> GqlResult<i32> {
        let t = self.totals(ctx).await?;
        Ok(graphql_int(t.backers, "backerCount")?)
    }

    /// The prediction game on this mission; opens when the streamer accepts.
    async fn prediction(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::prediction::Prediction>> {
        super::prediction::of_mission(ctx, &self.id).await
    }

    /// Pledges, oldest first.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE).clamp(0, MAX_PAGE) as usize * child_complexity"
    )]
    async fn pledges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<PledgeConnection> {
        let limit = page_size(first)?;
        let mut query = pledge::Entity::find()
            .filter(pledge::Column::MissionId.eq(self.id.as_str()))
            .order_by_asc(pledge::Column::Id)
            .limit(limit + 1);
        if let Some(after) = after {
            query = query.filter(pledge::Column::Id.gt(after));
        }
        let rows = query
            .all(&state(ctx).db.missions)
            .await
            .map_err(ApiError::from)?;
        let (nodes, end_cursor, has_next_page) = page(rows, limit, |p: &Pledge| p.id.to_string())?;
        Ok(PledgeConnection {
            nodes,
            end_cursor,
            has_next_page,
        })
    }
}

/// One backer's pledge to a mission.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Pledge {
    pub id: ID,
    pub amount: Won,
    pub status: PledgeStatus,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub backer_id: String,
}

impl TryFrom<pledge::Model> for Pledge {
    type Error = ApiError;

    fn try_from(p: pledge::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(p.id),
            amount: Won::of(p.amount, "pledge amount")?,
            status: p.status.into(),
            created_at: p.created_at,
            backer_id: p.backer_id,
        })
    }
}

#[ComplexObject]
impl Pledge {
    async fn backer(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.backer_id, Role::Viewer).await?)
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PledgeConnection {
    pub nodes: Vec<Pledge>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct MissionConnection {
    pub nodes: Vec<Mission>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(ApiError::BadUserInput(format!(
            "first must be between 1 and {MAX_PAGE}"
        )));
    }
    Ok(u64::from(first.unsigned_abs()))
}

/// Turns up to `limit + 1` fetched rows into a page: its nodes, the cursor after the last one,
/// and whether more follow.
fn page<M, T: TryFrom<M, Error = ApiError>>(
    mut rows: Vec<M>,
    limit: u64,
    cursor_of: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>, bool), ApiError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_next_page = rows.len() > limit;
    rows.truncate(limit);
    let nodes = rows
        .into_iter()
        .map(T::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let end_cursor = nodes.last().map(cursor_of);
    Ok((nodes, end_cursor, has_next_page))
}

#[derive(InputObject)]
pub struct CreateMissionInput {
    pub streamer_id: ID,
    pub title: String,
    pub description: Option<String>,
    /// The creator's own first pledge, won.
    pub amount: i32,
    /// Time to complete, counted from acceptance.
    pub duration_seconds: i32,
    /// Accept window; the configured default when omitted.
    pub accept_within_seconds: Option<i32>,
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

    /// Missions, newest first, optionally of one streamer and in one status.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE).clamp(0, MAX_PAGE) as usize * child_complexity"
    )]
    async fn missions(
        &self,
        ctx: &Context<'_>,
        streamer_id: Option<ID>,
        status: Option<MissionStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<MissionConnection> {
        let limit = page_size(first)?;
        let mut query = mission::Entity::find()
            .order_by_desc(mission::Column::Id)
            .limit(limit + 1);
        if let Some(streamer) = streamer_id {
            query = query.filter(mission::Column::StreamerId.eq(streamer.to_string()));
        }
        if let Some(status) = status {
            query = query.filter(mission::Column::Status.eq(LedgerMissionStatus::from(status)));
        }
        if let Some(after) = after {
            query = query.filter(mission::Column::Id.lt(after));
        }
        let rows = query
            .all(&state(ctx).db.missions)
            .await
            .map_err(ApiError::from)?;
        let (nodes, end_cursor, has_next_page) = page(rows, limit, |m: &Mission| m.id.to_string())?;
        Ok(MissionConnection {
            nodes,
            end_cursor,
            has_next_page,
        })
    }
}

/// After a commit: announce the change, and hand the workflow its outbox entry right away
/// (in the background; the relay covers a failure).
fn after_commit(app: &AppState, mission_id: &str) {
    use opentelemetry::trace::FutureExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let app = app.clone();
    let id = mission_id.to_owned();
    // The delivery runs after the response, but in the request's trace: the workflow it starts
    // or signals joins that trace through the Temporal header.
    let trace = tracing::Span::current().context();
    let deliver = async move {
        changes::announce(&app.db.missions, &id).await;
        let delivered = async {
            let client = app.temporal.client().await?;
            missionlink_workflows::outbox::deliver(
                &app.db.missions,
                &client,
                &app.temporal.config().task_queue,
                &id,
            )
            .await
        }
        .await;
        if let Err(e) = delivered {
            tracing::warn!(mission_id = %id, error = %format!("{e:#}"), "workflow outbox left for the relay");
        }
    };
    tokio::spawn(deliver.with_context(trace));
}

#[derive(Default)]
pub struct MissionMutation;

#[Object]
impl MissionMutation {
    /// Proposes a mission to a streamer with the caller's first pledge, held in escrow at once.
    async fn create_mission(
        &self,
        ctx: &Context<'_>,
        input: CreateMissionInput,
        idempotency_key: String,
    ) -> GqlResult<Mission> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let streamer = app
            .auth
            .user(input.streamer_id.as_str())
            .await
            .map_err(|_| {
                ApiError::BadUserInput("streamerId does not name a registered streamer".into())
            })?;
        if streamer.role != "STREAMER" {
            return Err(ApiError::BadUserInput(
                "streamerId does not name a registered streamer".into(),
            )
            .into());
        }
        let new = NewMission {
            creator_id: claims.sub.clone(),
            streamer_id: streamer.id,
            title: input.title,
            description: input.description,
            amount_won: i64::from(input.amount),
            duration_seconds: i64::from(input.duration_seconds),
            accept_within_seconds: input.accept_within_seconds.map(i64::from),
        };
        let created = domain::create(&app.db.missions, &app.config.missions.ledger(), &new, &key)
            .await
            .map_err(ApiError::from)?;
        // A replay answers the first mission again; it is not new activity.
        if created.is_new() {
            after_commit(app, &created.get().id);
            let metrics = missionlink_telemetry::metrics();
            metrics.mission_created();
            metrics.pledge(new.amount_won);
        }
        Ok(Mission::try_from(created.into_inner())?)
    }

    /// Adds the caller's pledge to an open mission. Not for the mission's own streamer.
    async fn contribute(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        amount: i32,
        idempotency_key: String,
    ) -> GqlResult<Pledge> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        // Group commit: this pledge shares its commit with the others arriving now.
        let pledged = app
            .pledges
            .contribute(mission_id.as_str(), &claims.sub, i64::from(amount), &key)
            .await
            .map_err(ApiError::from)?;
        if pledged.is_new() {
            missionlink_telemetry::metrics().pledge(pledged.get().amount);
        }
        // A pledge does not concern the workflow (BRIEF §5); the batcher announced a new one to
        // live subscribers with its commit (a replay, not at all).
        Ok(Pledge::try_from(pledged.into_inner())?)
    }

    /// The streamer takes the mission on; its deadline starts now.
    async fn accept_mission(&self, ctx: &Context<'_>, mission_id: ID) -> GqlResult<Mission> {
        act(ctx, &mission_id, StreamerAction::Accept).await
    }

    /// The streamer declines; every backer is refunded.
    async fn reject_mission(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        reason: Option<String>,
    ) -> GqlResult<Mission> {
        act(ctx, &mission_id, StreamerAction::Reject { reason }).await
    }

    /// The streamer's final verdict: SUCCESS pays them, FAILURE refunds every backer.
    async fn decide_mission(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        outcome: Outcome,
    ) -> GqlResult<Mission> {
        act(ctx, &mission_id, StreamerAction::Decide(outcome.into())).await
    }
}

async fn act(ctx: &Context<'_>, mission_id: &ID, action: StreamerAction) -> GqlResult<Mission> {
    let claims = caller(ctx)?;
    let app = state(ctx);
    let m = domain::act(
        &app.db.missions,
        &app.config.missions.ledger(),
        mission_id.as_str(),
        &claims.sub,
        &action,
    )
    .await
    .map_err(ApiError::from)?;
    after_commit(app, &m.id);
    Ok(Mission::try_from(m)?)
}

#[derive(Default)]
pub struct MissionSubscription;

#[Subscription(name = "Subscription")]
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
