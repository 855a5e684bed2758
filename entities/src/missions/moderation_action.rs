//! One moderation action in a streamer's channel, by the streamer or a moderator.

use super::status::ModerationAction;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub streamer_id: String,
    pub actor_id: String,
    pub action: ModerationAction,
    pub mission_id: String,
    /// The pledge whose message was approved or hidden.
    pub pledge_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
