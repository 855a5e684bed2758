//! A prediction of the streamer's own, with 2 to 10 outcomes (issue 31, item 2).

use super::status::{PredictionDecision, PredictionStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "streamer_predictions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub streamer_id: String,
    /// The mission it is about, if any.
    pub mission_id: Option<String>,
    pub title: String,
    pub status: PredictionStatus,
    /// The streamer or the moderator who opened it.
    pub created_by: String,
    /// When betting closes (earlier if it was locked, resolved or cancelled before).
    pub lock_at: DateTimeUtc,
    /// Undecided by then, it is EXPIRED: every stake back.
    pub resolve_by: DateTimeUtc,
    pub decision: Option<PredictionDecision>,
    /// The winning outcome's position, when RESOLVED.
    pub winning_outcome: Option<i32>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub settled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
