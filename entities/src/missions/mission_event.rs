//! One entry of a streamer's event feed: something that happened to one of their missions (or
//! predictions),
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
    /// The mission it is about; `None` for a `PREDICTION_*` event of a streamer's prediction
    /// about no mission.
    pub mission_id: Option<String>,
    /// The streamer's prediction a `PREDICTION_*` event is about.
    pub prediction_id: Option<String>,
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
