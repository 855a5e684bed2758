use sea_orm::entity::prelude::*;

/// Where a streamer's payouts go. `account_number` is never shown: answers use
/// `account_masked`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// KFTC 3-digit bank code.
    pub bank_code: String,
    /// Digits only.
    pub account_number: String,
    pub account_masked: String,
    pub holder_name: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
