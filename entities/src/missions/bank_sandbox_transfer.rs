use super::status::BankTransferStatus;
use sea_orm::entity::prelude::*;

/// What the sandbox bank received: one row per request id, however often it was submitted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bank_sandbox_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub request_id: String,
    pub bank_code: String,
    pub account_number: String,
    pub holder_name: String,
    pub amount: i64,
    pub status: BankTransferStatus,
    pub failure_reason: Option<String>,
    pub submissions: i32,
    pub received_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    /// When a COMPLETED transfer came back (missions migration 000021): set in the sandbox's
    /// books to try a return; the bank then answers RETURNED with `return_reason`.
    pub returned_at: Option<DateTimeUtc>,
    pub return_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
