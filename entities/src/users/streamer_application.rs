//! A viewer's application to become a streamer: which channel they say is theirs, and an
//! operator's decision. At most one `PENDING` per user (a partial unique index).

use super::kinds::{ApplicationStatus, Platform};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "streamer_applications")]
pub struct Model {
    /// A UUIDv7: ordered as the applications were made.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub platform: Platform,
    /// The channel's id on its platform, read from `channel_url`.
    pub channel_id: String,
    /// The channel's address, in its canonical form.
    pub channel_url: String,
    pub status: ApplicationStatus,
    /// The deciding operator's note.
    pub note: Option<String>,
    /// The operator who decided.
    pub decided_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
