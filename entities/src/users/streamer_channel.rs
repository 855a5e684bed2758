//! A streamer's verified channel: one per streamer, and one streamer per (platform, channel
//! id) (a unique constraint). Accounts that were streamers before verification existed have a
//! row without a channel.

use super::kinds::{Platform, Verification};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "streamer_channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// `None` only for a streamer verified by migration.
    pub platform: Option<Platform>,
    pub channel_id: Option<String>,
    /// The channel's name as its platform said it (OAuth), or as the application gave it.
    pub name: Option<String>,
    pub url: Option<String>,
    pub verified_at: DateTimeUtc,
    pub verified_via: Verification,
    /// The approving operator's id (`OPERATOR`); `None` otherwise.
    pub verified_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
