//! A goal mission's stretch tiers (issue 28): up to five amounts above its goal, each with a
//! title, reached (once, for good) when what the mission holds first comes to its amount.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mission_tiers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mission_id: String,
    /// 1 for the lowest tier, counting up.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub amount_won: i64,
    pub title: String,
    pub reached_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
