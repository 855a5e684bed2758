//! A user a streamer appointed to moderate their channel.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_moderators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub streamer_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub appointed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
