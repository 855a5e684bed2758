//! One outcome of a streamer's prediction, by position (1 first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prediction_outcomes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub prediction_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub title: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
