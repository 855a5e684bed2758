//! The replay record of the payment provider's webhook deliveries (`payment_webhook_events`):
//! a delivery id recorded once handled is answered and ignored when it comes again.

use crate::LedgerError;
use chrono::Utc;
use missionlink_entities::missions::payment_webhook_event;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

/// Whether the delivery `event_id` was handled before.
pub async fn seen<C: ConnectionTrait>(db: &C, event_id: &str) -> Result<bool, LedgerError> {
    Ok(
        payment_webhook_event::Entity::find_by_id(event_id.to_owned())
            .one(db)
            .await?
            .is_some(),
    )
}

/// Records the delivery `event_id` as handled (once; a second record changes nothing).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    event_id: &str,
    event_type: &str,
    payment_key: Option<&str>,
    order_id: Option<&str>,
) -> Result<(), LedgerError> {
    payment_webhook_event::Entity::insert(payment_webhook_event::ActiveModel {
        event_id: Set(event_id.to_owned()),
        event_type: Set(event_type.to_owned()),
        payment_key: Set(payment_key.map(str::to_owned)),
        order_id: Set(order_id.map(str::to_owned)),
        received_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}
