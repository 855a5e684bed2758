//! `sendTestEvent` (issue 29, item 2): a streamer tries an alert, a bot or a webhook without
//! anyone spending money. The event is a real one of their feed, flagged `test`; what it shows
//! is made up (`test_objects`).

use super::context::{state, streamer_caller};
use super::events::{MissionEvent, MissionEventKind};
use super::test_objects::payload;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Object};
use missionlink_ledger::status::EventKind;
use missionlink_ledger::test_event::{self, TestEvent};

#[derive(Default)]
pub struct TestEventMutation;

#[Object]
impl TestEventMutation {
    /// Appends a test event of `kind` to your feed (streamers only; `FORBIDDEN` otherwise): your
    /// overlay, your subscribers and your webhooks get it as they would a real one, with
    /// `test: true` and a made-up mission (and pledge, for the kinds that carry one). No money
    /// moves and no total or count changes. At most `TEST_EVENTS_PER_MINUTE` a minute
    /// (`RATE_LIMITED`, with `extensions.retryAt`). The `PREDICTION_*` kinds carry a real
    /// prediction, which a test cannot make up: `BAD_USER_INPUT` (open a prediction with
    /// `createPrediction` and cancel it to see all three).
    async fn send_test_event(
        &self,
        ctx: &Context<'_>,
        kind: MissionEventKind,
    ) -> GqlResult<MissionEvent> {
        let claims = streamer_caller(ctx, "only streamers have a feed to test")?;
        let app = state(ctx);
        let locale = missionlink_identity::users::get(&app.db.users, &claims.sub)
            .await
            .map_err(ApiError::from)?
            .locale;
        let kind = EventKind::from(kind);
        if matches!(
            kind,
            EventKind::PredictionOpened
                | EventKind::PredictionLocked
                | EventKind::PredictionResolved
        ) {
            return Err(ApiError::from(missionlink_ledger::LedgerError::invalid(
                "kind",
                "a prediction's events carry a real prediction: open one with createPrediction \
                 (and cancel it) to see them",
            ))
            .into());
        }
        let (shown, tier) = payload(kind, locale, chrono::Utc::now());
        let json = serde_json::to_string(&shown)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("a test payload: {e}")))?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (mission_id, pledge_id) = (format!("test-{id}"), format!("test-pledge-{id}"));
        let event = test_event::send(
            &app.db.missions,
            &TestEvent {
                streamer_id: &claims.sub,
                kind,
                mission_id: &mission_id,
                pledge_id: shown.has_pledge().then_some(pledge_id.as_str()),
                tier,
                payload: &json,
            },
            app.settings.webhooks.test_events_per_minute,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(MissionEvent::try_from(event)?)
    }
}
