//! One feed event sent to one webhook: its attempts and how the last one went.

use super::status::WebhookDeliveryStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub webhook_id: String,
    pub seq: i64,
    /// The event's `EventKind`, as stored.
    pub kind: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    /// The last attempt's HTTP status, when the receiver answered.
    pub response_code: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    pub latency_ms: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub first_attempt_at: DateTimeUtc,
    pub last_attempt_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
