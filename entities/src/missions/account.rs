use super::status::AccountKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: AccountKind,
    pub owner_id: Option<String>,
    /// `CASH` or `POINTS`.
    pub currency: String,
    /// Won or points; meaningful only when `materialised`.
    pub balance: i64,
    pub materialised: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
