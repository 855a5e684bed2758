//! The `customerKey` a payment provider's widget gets for a user (issue 26): a random key kept
//! server-side, one per user (`payment_customers`), not the user's public id, which anyone who
//! sees a mission knows. Made on the user's first order; two first orders at once make one.

use crate::LedgerError;
use chrono::Utc;
use missionlink_entities::missions::payment_customer;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

/// `user_id`'s customer key, made now if they have none: a random UUID (36 letters, digits and
/// `-`, within Toss's 2 to 50 characters of letters, digits and `-_=.@`).
pub async fn key_of<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<String, LedgerError> {
    if let Some(found) = payment_customer::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?
    {
        return Ok(found.customer_key);
    }
    // The primary key decides between two first orders at once; the loser reads the winner's.
    payment_customer::Entity::insert(payment_customer::ActiveModel {
        user_id: Set(user_id.to_owned()),
        customer_key: Set(uuid::Uuid::new_v4().to_string()),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    payment_customer::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?
        .map(|c| c.customer_key)
        .ok_or_else(|| LedgerError::Corrupt(format!("no customer key for {user_id}")))
}
