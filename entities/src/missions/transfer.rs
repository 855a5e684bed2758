use super::status::TransferKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub debit_account_id: String,
    pub credit_account_id: String,
    pub currency: String,
    pub amount: i64,
    pub kind: TransferKind,
    pub created_at: DateTimeUtc,
    /// The transfer's place in the journal's one order, taken after its materialised accounts
    /// were locked: on each account, the order its movements were applied in.
    pub seq: i64,
    /// The debited account's balance right after this transfer (NULL if journal-only).
    pub debit_balance_after: Option<i64>,
    /// The credited account's balance right after this transfer (NULL if journal-only).
    pub credit_balance_after: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
