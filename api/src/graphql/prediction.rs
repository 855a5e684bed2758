//! The prediction game in GraphQL: `Mission.prediction`, `Prediction`, `Bet`, `placeBet`.

use super::context::{Caller, caller, state};
use super::money::Points;
use super::status::{Outcome, PredictionStatus};
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{bet, prediction};
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::prediction as domain;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Points staked on a mission's outcome; opens when the streamer accepts.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Prediction {
    pub status: PredictionStatus,
    /// When betting closes.
    pub lock_at: DateTime<Utc>,
    #[graphql(skip)]
    pub mission_id: String,
    /// `successPoints` and `failurePoints` come from one query, read once per object.
    #[graphql(skip)]
    pub pools: std::sync::Arc<tokio::sync::OnceCell<domain::Pools>>,
}

impl TryFrom<prediction::Model> for Prediction {
    type Error = ApiError;

    fn try_from(p: prediction::Model) -> Result<Self, ApiError> {
        Ok(Self {
            status: p.status.into(),
            lock_at: p.lock_at,
            mission_id: p.mission_id,
            pools: Default::default(),
        })
    }
}

/// The mission's prediction, if it was accepted.
pub(crate) async fn of_mission(
    ctx: &Context<'_>,
    mission_id: &str,
) -> GqlResult<Option<Prediction>> {
    let found = prediction::Entity::find_by_id(mission_id.to_owned())
        .one(&state(ctx).db.missions)
        .await
        .map_err(ApiError::from)?;
    Ok(found.map(Prediction::try_from).transpose()?)
}

impl Prediction {
    async fn pools(&self, ctx: &Context<'_>) -> Result<domain::Pools, ApiError> {
        let pools = self
            .pools
            .get_or_try_init(|| domain::pools(&state(ctx).db.missions, &self.mission_id))
            .await?;
        Ok(*pools)
    }
}

#[ComplexObject]
impl Prediction {
    /// Points staked on SUCCESS so far.
    async fn success_points(&self, ctx: &Context<'_>) -> GqlResult<Points> {
        Ok(Points::of(
            self.pools(ctx).await?.success_points,
            "successPoints",
        )?)
    }

    /// Points staked on FAILURE so far.
    async fn failure_points(&self, ctx: &Context<'_>) -> GqlResult<Points> {
        Ok(Points::of(
            self.pools(ctx).await?.failure_points,
            "failurePoints",
        )?)
    }

    /// The caller's bet, if they are signed in and placed one.
    async fn my_bet(&self, ctx: &Context<'_>) -> GqlResult<Option<Bet>> {
        let Some(Caller::User(claims)) = ctx.data_opt::<Caller>() else {
            return Ok(None);
        };
        let found = bet::Entity::find()
            .filter(bet::Column::MissionId.eq(&self.mission_id))
            .filter(bet::Column::BettorId.eq(&claims.sub))
            .one(&state(ctx).db.missions)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Bet::try_from).transpose()?)
    }
}

/// A user's stake on one side of a prediction.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Bet {
    pub id: ID,
    pub outcome: Outcome,
    pub points: Points,
    /// Set once settled: points credited back (0 for a losing bet).
    pub payout: Option<Points>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub mission_id: String,
}

#[ComplexObject]
impl Bet {
    /// The mission whose outcome this bet is on.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<super::mission::Mission> {
        Ok(super::mission::load_mission(ctx, &self.mission_id).await?)
    }
}

impl TryFrom<bet::Model> for Bet {
    type Error = ApiError;

    fn try_from(b: bet::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(b.id),
            outcome: b.outcome.into(),
            points: Points::of(b.points, "bet points")?,
            payout: b.payout.map(|p| Points::of(p, "bet payout")).transpose()?,
            created_at: b.created_at,
            mission_id: b.mission_id,
        })
    }
}

#[derive(Default)]
pub struct PredictionMutation;

#[Object]
impl PredictionMutation {
    /// Stakes game points on the mission's outcome while betting is open: one side per user,
    /// 1 to 250,000 points in all; adding to the same side is allowed. Idempotent per key.
    async fn place_bet(
        &self,
        ctx: &Context<'_>,
        mission_id: ID,
        outcome: Outcome,
        points: i32,
        idempotency_key: String,
    ) -> GqlResult<Bet> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let placed = domain::place_bet(
            &app.db.missions,
            mission_id.as_str(),
            &claims.sub,
            outcome.into(),
            i64::from(points),
            &key,
        )
        .await
        .map_err(ApiError::from)?;
        if placed.is_new() {
            missionlink_telemetry::metrics().bet(i64::from(points));
        }
        Ok(Bet::try_from(placed.into_inner())?)
    }
}
