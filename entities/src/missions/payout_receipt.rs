use super::status::{DeliveryStatus, PayoutStatus};
use sea_orm::entity::prelude::*;

/// The receipt of a payout's outcome, recorded once sent (or refused for good).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub payout_id: String,
    /// `PAID` or `FAILED`.
    pub outcome: PayoutStatus,
    pub address: String,
    pub subject: String,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub sent_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
