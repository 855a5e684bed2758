//! Predictions of the streamer's own in GraphQL (issue 31, item 2): `ChannelPrediction`, its
//! `PredictionOutcome`s, a bettor's `PredictionStake`, and the queries `channelPrediction` and
//! `channelPredictions`. The mutations are `channel_prediction_mutation.rs`; the rules are the
//! ledger's (`prediction::streamer`).

use super::context::{Caller, state};
use super::money::Points;
use super::status::PredictionStatus;
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{prediction_bet, streamer_prediction};
use missionlink_ledger::prediction::streamer as domain;

/// Most predictions `channelPredictions` returns.
pub const MAX_LISTED: i32 = 50;
/// What `channelPredictions` returns when `first` is not given.
pub const DEFAULT_LISTED: i32 = 10;

/// How a prediction was decided.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_ledger::status::PredictionDecision")]
pub enum PredictionDecision {
    /// A winning outcome was named: the pool is paid out parimutuel.
    Resolved,
    /// Cancelled by the streamer or a moderator: every stake back.
    Cancelled,
    /// Nobody resolved it within `PREDICTION_RESOLVE_HOURS`: every stake back.
    Expired,
}

/// A prediction a streamer (or one of their moderators) opened, with 2 to 10 outcomes.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ChannelPrediction {
    pub id: ID,
    pub title: String,
    /// OPEN while betting is open; LOCKED once it closed (its window ended, or it was locked,
    /// resolved or cancelled); SETTLED once paid out, REFUNDED once every stake went back.
    pub status: PredictionStatus,
    /// When betting closes (or closed).
    pub lock_at: DateTime<Utc>,
    /// Undecided by then, it expires: every stake back.
    pub resolve_by: DateTime<Utc>,
    pub decision: Option<PredictionDecision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: streamer_prediction::Model,
    /// `outcomes`, `totalPoints` and `winningOutcome` come from one query, read once per
    /// object.
    #[graphql(skip)]
    pub totals: std::sync::Arc<tokio::sync::OnceCell<Vec<domain::OutcomeTotals>>>,
}

impl From<streamer_prediction::Model> for ChannelPrediction {
    fn from(p: streamer_prediction::Model) -> Self {
        Self {
            id: ID(p.id.clone()),
            title: p.title.clone(),
            status: p.status.into(),
            lock_at: p.lock_at,
            resolve_by: p.resolve_by,
            decision: p.decision.map(Into::into),
            decided_at: p.decided_at,
            created_at: p.created_at,
            row: p,
            totals: Default::default(),
        }
    }
}

/// One outcome of a prediction and what is staked on it.
#[derive(SimpleObject, Clone, Debug)]
pub struct PredictionOutcome {
    /// `<predictionId>:<position>`, what `betOnPrediction` and `resolvePrediction` take.
    pub id: ID,
    /// Its place in the list, 1 first.
    pub position: i32,
    pub title: String,
    /// Points staked on it.
    pub points: Points,
    /// Users who staked on it.
    pub bettors: i32,
}

impl PredictionOutcome {
    fn of(prediction_id: &str, o: domain::OutcomeTotals) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(outcome_id(prediction_id, o.position)),
            position: o.position,
            title: o.title,
            points: Points::of(o.points, "outcome points")?,
            bettors: i32::try_from(o.bettors).unwrap_or(i32::MAX),
        })
    }
}

/// The id of the outcome at `position`.
pub(crate) fn outcome_id(prediction_id: &str, position: i32) -> String {
    format!("{prediction_id}:{position}")
}

/// The position of outcome `outcome_id` of prediction `prediction_id`; `BAD_USER_INPUT` on
/// `outcomeId` when it names another prediction's outcome or none.
pub(crate) fn position_of(prediction_id: &str, outcome_id: &str) -> Result<i32, ApiError> {
    outcome_id
        .strip_prefix(prediction_id)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            ApiError::from(missionlink_ledger::LedgerError::invalid(
                "outcomeId",
                "not an outcome of this prediction (ids are <predictionId>:<position>)",
            ))
        })
}

impl ChannelPrediction {
    /// Its outcomes with their points and bettors, read once.
    async fn totals(&self, ctx: &Context<'_>) -> Result<&[domain::OutcomeTotals], ApiError> {
        let totals = self
            .totals
            .get_or_try_init(|| domain::outcomes(&state(ctx).db.missions, &self.row.id))
            .await?;
        Ok(totals)
    }
}

#[ComplexObject]
impl ChannelPrediction {
    /// The outcomes in order, each with its points and bettors.
    async fn outcomes(&self, ctx: &Context<'_>) -> GqlResult<Vec<PredictionOutcome>> {
        Ok(self
            .totals(ctx)
            .await?
            .iter()
            .map(|o| PredictionOutcome::of(&self.row.id, o.clone()))
            .collect::<Result<_, _>>()?)
    }

    /// Every point staked.
    async fn total_points(&self, ctx: &Context<'_>) -> GqlResult<Points> {
        Ok(Points::of(
            self.totals(ctx).await?.iter().map(|o| o.points).sum(),
            "totalPoints",
        )?)
    }

    /// The outcome that won, once resolved.
    async fn winning_outcome(&self, ctx: &Context<'_>) -> GqlResult<Option<PredictionOutcome>> {
        let Some(position) = self.row.winning_outcome else {
            return Ok(None);
        };
        Ok(self
            .totals(ctx)
            .await?
            .iter()
            .find(|o| o.position == position)
            .map(|o| PredictionOutcome::of(&self.row.id, o.clone()))
            .transpose()?)
    }

    /// The streamer whose prediction it is.
    async fn streamer(&self, ctx: &Context<'_>) -> GqlResult<super::user::User> {
        Ok(super::user::load_user(
            ctx,
            &self.row.streamer_id,
            missionlink_identity::Role::Streamer,
        )
        .await?)
    }

    /// The mission it is about, if any.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<Option<super::mission::Mission>> {
        match &self.row.mission_id {
            Some(id) => Ok(Some(super::mission::load_mission(ctx, id).await?)),
            None => Ok(None),
        }
    }

    /// The caller's stake, if they are signed in and placed one.
    async fn my_stake(&self, ctx: &Context<'_>) -> GqlResult<Option<PredictionStake>> {
        let Some(Caller::User(claims)) = ctx.data_opt::<Caller>() else {
            return Ok(None);
        };
        let found = domain::stake_of(&state(ctx).db.missions, &self.row.id, &claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(PredictionStake::try_from).transpose()?)
    }
}

/// A user's stake on one outcome of a streamer's prediction, all their additions together.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct PredictionStake {
    pub id: ID,
    /// The id of the outcome it is on.
    pub outcome_id: ID,
    pub points: Points,
    /// Set once settled: points credited back (0 for a losing stake).
    pub payout: Option<Points>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub prediction_id: String,
}

#[ComplexObject]
impl PredictionStake {
    /// The prediction it is on.
    async fn prediction(&self, ctx: &Context<'_>) -> GqlResult<ChannelPrediction> {
        load(ctx, &self.prediction_id)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a stake's prediction vanished")))
            .map_err(Into::into)
    }
}

impl TryFrom<prediction_bet::Model> for PredictionStake {
    type Error = ApiError;

    fn try_from(b: prediction_bet::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(b.id),
            outcome_id: ID(outcome_id(&b.prediction_id, b.outcome)),
            points: Points::of(b.points, "stake points")?,
            payout: b
                .payout
                .map(|p| Points::of(p, "stake payout"))
                .transpose()?,
            created_at: b.created_at,
            prediction_id: b.prediction_id,
        })
    }
}

/// The prediction `id`, if there is one.
pub(crate) async fn load(
    ctx: &Context<'_>,
    id: &str,
) -> Result<Option<ChannelPrediction>, ApiError> {
    Ok(domain::find(&state(ctx).db.missions, id)
        .await?
        .map(ChannelPrediction::from))
}

#[derive(Default)]
pub struct ChannelPredictionQuery;

#[Object]
impl ChannelPredictionQuery {
    /// A streamer's prediction by id; null if there is none.
    async fn channel_prediction(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> GqlResult<Option<ChannelPrediction>> {
        Ok(load(ctx, id.as_str()).await?)
    }

    /// A streamer's latest predictions, newest first: `first` (1 to 50, default 10).
    async fn channel_predictions(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
        first: Option<i32>,
    ) -> GqlResult<Vec<ChannelPrediction>> {
        let first = first.unwrap_or(DEFAULT_LISTED);
        if !(1..=MAX_LISTED).contains(&first) {
            return Err(ApiError::from(missionlink_ledger::LedgerError::invalid(
                "first",
                format!("first must be 1 to {MAX_LISTED}"),
            ))
            .into());
        }
        let rows = domain::list(
            &state(ctx).db.missions,
            streamer_id.as_str(),
            u64::try_from(first).unwrap_or(10),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(ChannelPrediction::from).collect())
    }
}
