//! A streamer's channel settings; a streamer without a row has the defaults.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "streamer_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub streamer_id: String,
    pub accepting_requests: bool,
    /// Won; `None` is `PLEDGE_MIN`.
    pub min_first_pledge: Option<i64>,
    /// `None` is `MISSION_MAX_DURATION_SECONDS`.
    pub max_duration_seconds: Option<i64>,
    pub manual_approval: bool,
    /// JSON array of the banned words as the streamer wrote them.
    pub banned_words: String,
    /// JSON array of blocked users' ids.
    pub blocked_users: String,
    /// Whether an accepted mission (or a reached goal) opens a prediction (issue 31).
    pub predictions_enabled: bool,
    /// How long betting stays open; `None` is `PREDICTION_WINDOW_SECONDS`.
    pub prediction_window_seconds: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
