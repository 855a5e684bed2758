//! One operator action: who did what, to which mission, user, payout or case, when and why. Append-only.

use super::status::{OperatorActionKind, Outcome};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub operator_id: String,
    pub action: OperatorActionKind,
    /// The mission resolved or cancelled.
    pub mission_id: Option<String>,
    /// The user suspended, unsuspended, or whose streamer application was decided.
    pub user_id: Option<String>,
    /// A dispute's resolution.
    pub outcome: Option<Outcome>,
    /// A suspension's end; `None` on a suspension means until lifted.
    pub suspended_until: Option<DateTimeUtc>,
    /// The suspension that cancelled this mission.
    pub cause_id: Option<String>,
    pub note: String,
    pub created_at: DateTimeUtc,
    /// The payout held, released or cancelled.
    pub payout_id: Option<String>,
    /// The streamer application approved or refused (an id of the users database): one
    /// decision per application, by a unique index.
    pub application_id: Option<String>,
    /// The reconciliation case settled.
    pub case_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
