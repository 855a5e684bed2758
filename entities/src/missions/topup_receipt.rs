use super::status::{DeliveryStatus, TopUpEvent};
use sea_orm::entity::prelude::*;

/// The receipt of a top-up's confirmation or withdrawal: an outbox row written in the
/// transaction of the event, delivered once by the worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "topup_receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub top_up_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event: TopUpEvent,
    pub created_at: DateTimeUtc,
    /// A worker's claim on sending it, until this time.
    pub claimed_until: Option<DateTimeUtc>,
    pub address: Option<String>,
    pub subject: Option<String>,
    /// Set once sent (or refused for good).
    pub status: Option<DeliveryStatus>,
    pub error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
