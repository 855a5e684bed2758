//! A streamer's test events (issue 29, item 2): an event of any kind appended to their own
//! feed, flagged by its `test_payload` (the made-up mission and pledge it shows, written by the
//! caller), so an overlay, a subscriber and a webhook see it as they would a real one, without
//! a pledge, a transfer, a total or a count changing. At most `per_minute` per streamer in any
//! minute (counted under the streamer's feed row, so racing calls cannot exceed it).

use crate::LedgerError;
use crate::events::{self, NewEvent};
use crate::status::EventKind;
use chrono::{Duration, Utc};
use missionlink_entities::missions::mission_event;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

/// A test event to append.
#[derive(Clone, Debug)]
pub struct TestEvent<'a> {
    pub streamer_id: &'a str,
    pub kind: EventKind,
    /// The made-up mission's id (named by no stored mission).
    pub mission_id: &'a str,
    /// The made-up pledge's id, for a kind that carries one.
    pub pledge_id: Option<&'a str>,
    pub tier: Option<i32>,
    /// What it shows (JSON).
    pub payload: &'a str,
}

/// Appends the test event to the streamer's feed and announces it after the commit.
/// `RATE_LIMITED` (with when the next is allowed) past `per_minute` in the last minute.
pub async fn send(
    db: &DatabaseConnection,
    test: &TestEvent<'_>,
    per_minute: u32,
) -> Result<mission_event::Model, LedgerError> {
    let txn = db.begin().await?;
    events::hold_feed(&txn, test.streamer_id).await?;
    let now = Utc::now();
    let window = mission_event::Entity::find()
        .filter(mission_event::Column::StreamerId.eq(test.streamer_id))
        .filter(mission_event::Column::TestPayload.is_not_null())
        .filter(mission_event::Column::CreatedAt.gt(now - Duration::minutes(1)));
    if window.clone().count(&txn).await? >= u64::from(per_minute) {
        let oldest = window
            .order_by_asc(mission_event::Column::CreatedAt)
            .one(&txn)
            .await?
            .map_or(now, |e| e.created_at);
        return Err(LedgerError::Refused {
            code: "RATE_LIMITED",
            message: format!("at most {per_minute} test events a minute (TEST_EVENTS_PER_MINUTE)"),
            retry_at: Some(oldest + Duration::minutes(1)),
        });
    }
    let appended = events::write(
        &txn,
        &[NewEvent {
            mission_id: Some(test.mission_id),
            prediction_id: None,
            streamer_id: Some(test.streamer_id),
            kind: test.kind,
            pledge_id: test.pledge_id,
            tier: test.tier,
            test_payload: Some(test.payload),
        }],
    )
    .await?;
    txn.commit().await?;
    let event = appended
        .first()
        .and_then(|a| a.events.first())
        .cloned()
        .ok_or_else(|| LedgerError::Corrupt("a test event was not appended".into()))?;
    events::announce_committed(db, appended, Vec::new()).await;
    Ok(event)
}
