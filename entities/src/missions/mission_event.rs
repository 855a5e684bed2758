//! One entry of a streamer's event feed: something that happened to one of their missions,
//! numbered by `seq` (per streamer, strictly increasing, assigned at commit).

use super::status::EventKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mission_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub streamer_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub mission_id: String,
    pub kind: EventKind,
    /// The pledge a CREATED or PLEDGED event is about.
    pub pledge_id: Option<String>,
    /// The tier (its level) a TIER_REACHED event is about.
    pub tier: Option<i32>,
    pub created_at: DateTimeUtc,
    /// A streamer's test event (`sendTestEvent`): the made-up mission and pledge it shows, as
    /// JSON; then `mission_id` and `pledge_id` name nothing stored.
    pub test_payload: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
