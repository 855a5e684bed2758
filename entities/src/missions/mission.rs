use super::status::{MissionKind, MissionStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "missions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub streamer_id: String,
    pub creator_id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: MissionStatus,
    pub duration_seconds: i64,
    pub accept_by: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub deadline: Option<DateTimeUtc>,
    /// When the mission stopped taking pledges (its terminal transition).
    pub closed_at: Option<DateTimeUtc>,
    pub reject_reason: Option<String>,
    pub settled_at: Option<DateTimeUtc>,
    pub notified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// While VERIFYING (and after): when the backers' objection window ends. Set by a SUCCESS
    /// verdict when `OBJECTION_WINDOW_SECONDS` > 0.
    pub objection_until: Option<DateTimeUtc>,
    /// When the objections reached the threshold and the mission became DISPUTED.
    pub disputed_at: Option<DateTimeUtc>,
    /// The https link the streamer gave with their verdict, if any.
    pub evidence_url: Option<String>,
    /// The streamer's note with their verdict, if any.
    pub verdict_note: Option<String>,
    /// PROPOSAL (a viewer's, accepted by the streamer) or GOAL (the streamer's own).
    pub kind: MissionKind,
    /// A goal mission's goal, won: reaching it makes the mission ACTIVE. Its funding ends at
    /// `accept_by`.
    pub goal_won: Option<i64>,
    /// A goal mission's SUCCESS verdict: the level the streamer delivered, 0 the goal itself
    /// and `n` its `n`th tier; the streamer is paid up to that level's amount and the rest is
    /// refunded pro rata. None: everything held is paid.
    pub tier_reached: Option<i32>,
    /// A tiered verdict's split, fixed with it (all None when nothing goes back): what the goal
    /// held then, what goes back to its backers pro rata, and the last pledge (in id order)
    /// that gets one won of the rounding's remainder.
    pub tier_held_won: Option<i64>,
    pub tier_refund_won: Option<i64>,
    pub tier_extra_through: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
