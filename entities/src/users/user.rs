use super::kinds::{Locale, Role};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: String,
    pub handle: String,
    pub handle_key: String,
    pub display_name: String,
    pub role: Role,
    pub locale: Locale,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    /// When the current suspension began; `None`: never suspended, or lifted. The user is
    /// suspended at `t` iff this is set and `suspended_until` is `None` or after `t`.
    pub suspended_at: Option<DateTimeUtc>,
    /// When the suspension ends; `None` while `suspended_at` is set: until it is lifted.
    pub suspended_until: Option<DateTimeUtc>,
    /// Every access token carries the epoch it was issued in; one carrying an older epoch no
    /// longer acts (`logoutEverywhere` and a password change add one).
    pub session_epoch: i64,
    /// When the epoch last moved; `None`: never.
    pub sessions_valid_after: Option<DateTimeUtc>,
    /// When the current `email` was proven by a code sent to it; `None`: not yet.
    pub email_verified_at: Option<DateTimeUtc>,
    /// Whether they are emailed when a mission they back is accepted.
    pub notify_accepted: bool,
    /// Whether they are emailed when a mission they back has a success verdict open to their
    /// objection.
    pub notify_verifying: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
