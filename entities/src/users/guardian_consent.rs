//! A guardian's consent to a verified minor's top-ups (issue 26, item 2): one per minor's
//! account, the guardian verified through the same identity provider. Of the guardian only a
//! keyed hash of the CI (HMAC-SHA256 under `IDENTITY_HASH_KEY`) and the verified name are kept.

use super::kinds::IdentityProvider;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guardian_consents")]
pub struct Model {
    /// The minor's account (a `person_verifications` row).
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// Who verified the guardian.
    pub provider: IdentityProvider,
    /// Hex HMAC-SHA256 of the guardian's CI under `IDENTITY_HASH_KEY`.
    pub guardian_ci_hash: String,
    /// The name the provider verified for the guardian.
    pub guardian_name: String,
    pub consented_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
