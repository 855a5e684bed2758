//! The verified person behind an account (본인인증, issue 26): one per account, and one account
//! per person (a unique constraint on `ci_hash`). The person's unique key (CI) is never kept:
//! only its keyed hash (HMAC-SHA256 under `IDENTITY_HASH_KEY`), with the verified name and
//! birth date.

use super::kinds::IdentityProvider;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "person_verifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub provider: IdentityProvider,
    /// Hex HMAC-SHA256 of the CI under `IDENTITY_HASH_KEY`.
    #[sea_orm(unique)]
    pub ci_hash: String,
    /// The name the provider verified.
    pub name: String,
    /// `YYYY-MM-DD`, as the provider said it.
    pub birth_date: String,
    pub verified_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
