//! `account_emails`: the outbox of verification and reset emails, sent by the worker.

use super::kinds::{AccountEmailKind, AccountEmailStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_emails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// What the email is.
    pub kind: AccountEmailKind,
    /// `None` for a reset, which is asked for by address alone.
    pub user_id: Option<String>,
    /// Where it goes (for `ADDRESS_CHANGED`, the address the account left).
    pub email: String,
    pub created_at: DateTimeUtc,
    /// Another worker's claim on it lasts until then.
    pub claimed_until: Option<DateTimeUtc>,
    /// How many times a worker claimed it.
    pub attempts: i32,
    pub status: AccountEmailStatus,
    pub sent_at: Option<DateTimeUtc>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
