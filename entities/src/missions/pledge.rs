use super::status::{MessageStatus, PledgeStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pledges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub mission_id: String,
    pub backer_id: String,
    pub amount: i64,
    pub status: PledgeStatus,
    pub created_at: DateTimeUtc,
    pub settled_at: Option<DateTimeUtc>,
    /// The backer's message with the pledge, if any.
    pub message: Option<String>,
    /// Set exactly when there is a message.
    pub message_status: Option<MessageStatus>,
    /// Shown without its backer to everyone but the backer.
    pub anonymous: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
