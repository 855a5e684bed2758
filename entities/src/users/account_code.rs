//! `account_codes`: the single-use codes account emails carry, by their hash.

use super::kinds::CodePurpose;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub purpose: CodePurpose,
    /// SHA-256 of the code, hex; the code itself is only ever in the email.
    pub code_hash: String,
    /// The address the code proves: the account's, or the new one of a change of address.
    pub email: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// When it was used, or made void by a newer code of the same purpose being used.
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
