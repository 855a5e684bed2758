use super::status::DeliveryStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mission_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub recipient_id: String,
    /// `BACKER` or `STREAMER`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
    pub address: String,
    pub subject: String,
    /// When it was sent (or refused).
    pub sent_at: DateTimeUtc,
    /// `SENT`, or `FAILED` when the address was refused for good (never retried).
    pub status: DeliveryStatus,
    /// The transport's reason for a `FAILED` delivery.
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
