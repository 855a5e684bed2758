//! A backer's objection to a mission's SUCCESS verdict during its objection window.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "objections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mission_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub backer_id: String,
    pub reason: String,
    /// What the backer had pledged to the mission when they objected: the objection's weight.
    pub pledged_won: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
