//! The mutations of streamers' own predictions (issue 31, item 2): `createPrediction`,
//! `lockPrediction`, `resolvePrediction`, `cancelPrediction` and `betOnPrediction`. Each is one
//! ledger call (`prediction::streamer`); a resolution or cancellation is then paid out right
//! after its commit, the worker's sweep covering a payout this process did not finish.

use super::background::after_commit;
use super::channel_prediction::{ChannelPrediction, PredictionStake, position_of};
use super::context::{caller, state, streamer_caller};
use crate::error::{ApiError, GqlResult};
use crate::state::AppState;
use async_graphql::{Context, ID, Object};
use chrono::Utc;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::prediction::streamer::{self as domain, Decision, NewPrediction};

#[derive(Default)]
pub struct ChannelPredictionMutation;

/// Pays a decided prediction out after the commit; the worker's sweep covers a failure.
fn settle_after_commit(app: &AppState, prediction_id: &str) {
    after_commit(
        app,
        prediction_id,
        "prediction payout left for the worker's sweep",
        |app, id| async move {
            let page = app.settings.missions.predictions.page_size;
            domain::settle(&app.db.missions, &id, page).await?;
            Ok(())
        },
    );
}

async fn decide(
    ctx: &Context<'_>,
    prediction_id: &ID,
    decision: Decision,
) -> GqlResult<ChannelPrediction> {
    let claims = caller(ctx)?;
    let app = state(ctx);
    let decided = domain::decide(
        &app.db.missions,
        prediction_id.as_str(),
        &claims.sub,
        decision,
        Utc::now(),
    )
    .await
    .map_err(ApiError::from)?;
    if decided.decision.is_some() {
        settle_after_commit(app, &decided.id);
    }
    Ok(ChannelPrediction::from(decided))
}

#[Object]
impl ChannelPredictionMutation {
    /// Opens a prediction of the streamer's own: a title and 2 to 10 outcomes (titles up to 40
    /// characters, none repeated), about the stream or one of their running missions. By the
    /// streamer (`streamerId` omitted or theirs) or one of their moderators (`streamerId` the
    /// streamer's). Betting stays open `windowSeconds` (30 to 1,800; omitted: the streamer's
    /// `predictionWindowSeconds`, else the platform's `PREDICTION_WINDOW_SECONDS`).
    /// `INVALID_STATE` with the streamer's `predictionsEnabled` off; `PREDICTION_LIMIT` beyond
    /// `PREDICTIONS_OPEN_PER_STREAMER` undecided ones.
    async fn create_prediction(
        &self,
        ctx: &Context<'_>,
        streamer_id: Option<ID>,
        mission_id: Option<ID>,
        title: String,
        outcomes: Vec<String>,
        window_seconds: Option<i32>,
    ) -> GqlResult<ChannelPrediction> {
        let claims = caller(ctx)?;
        if streamer_id.as_deref().is_none_or(|s| *s == claims.sub) {
            // Their own: only a streamer has predictions. A moderator's is checked against the
            // streamer's moderators by the ledger.
            streamer_caller(ctx, "only streamers and their moderators open predictions")?;
        }
        let app = state(ctx);
        let new = NewPrediction {
            streamer_id: streamer_id.as_deref().unwrap_or(&claims.sub),
            actor_id: &claims.sub,
            mission_id: mission_id.as_ref().map(|m| m.as_str()),
            title: &title,
            outcomes: &outcomes,
            window_seconds: window_seconds.map(i64::from),
        };
        let opened = domain::open(
            &app.db.missions,
            &app.settings.missions.predictions,
            &new,
            Utc::now(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(ChannelPrediction::from(opened))
    }

    /// Closes betting now, by the streamer or a moderator; the result comes with
    /// `resolvePrediction`. Locking a locked prediction changes nothing.
    async fn lock_prediction(
        &self,
        ctx: &Context<'_>,
        prediction_id: ID,
    ) -> GqlResult<ChannelPrediction> {
        decide(ctx, &prediction_id, Decision::Lock).await
    }

    /// Names the winning outcome, by the streamer or a moderator who did not bet on it
    /// (`CONFLICT_OF_INTEREST`); betting closes at once. The pool is paid out parimutuel: each
    /// stake on the winner gets `floor(stake × pool ÷ winning points)`, and the points the
    /// flooring leaves go one each to the largest remainders, earliest stake first. Nobody on
    /// the winner: every stake back. Paid right after; `status` is SETTLED (or REFUNDED) once
    /// done.
    async fn resolve_prediction(
        &self,
        ctx: &Context<'_>,
        prediction_id: ID,
        outcome_id: ID,
    ) -> GqlResult<ChannelPrediction> {
        let position = position_of(prediction_id.as_str(), outcome_id.as_str())?;
        decide(ctx, &prediction_id, Decision::Resolve(position)).await
    }

    /// Cancels the prediction, by the streamer or a moderator who did not bet on it: every
    /// stake goes back.
    async fn cancel_prediction(
        &self,
        ctx: &Context<'_>,
        prediction_id: ID,
    ) -> GqlResult<ChannelPrediction> {
        decide(ctx, &prediction_id, Decision::Cancel).await
    }

    /// Stakes game points on one outcome while betting is open: one outcome per user, 1 to
    /// 250,000 points in all; adding to the same outcome is allowed. Not the streamer's own.
    /// Idempotent per key.
    async fn bet_on_prediction(
        &self,
        ctx: &Context<'_>,
        prediction_id: ID,
        outcome_id: ID,
        points: i32,
        idempotency_key: String,
    ) -> GqlResult<PredictionStake> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let position = position_of(prediction_id.as_str(), outcome_id.as_str())?;
        let placed = domain::place(
            &app.db.missions,
            prediction_id.as_str(),
            &claims.sub,
            position,
            i64::from(points),
            &key,
            Utc::now(),
        )
        .await
        .map_err(ApiError::from)?;
        if placed.is_new() {
            missionlink_telemetry::metrics().bet(i64::from(points));
        }
        Ok(PredictionStake::try_from(placed.into_inner())?)
    }
}
