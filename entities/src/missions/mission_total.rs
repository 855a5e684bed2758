//! A mission's totals, kept as its pledges are inserted (in the same transaction): what it was
//! ever pledged, and by how many distinct backers still in (a withdrawal of a backer's last
//! pledge takes one off). One row per mission with a pledge.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mission_totals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mission_id: String,
    /// Won pledged, every pledge counted once, whatever became of it.
    pub total_won: i64,
    /// Distinct backers with a pledge not withdrawn, the creator included.
    pub backers: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
