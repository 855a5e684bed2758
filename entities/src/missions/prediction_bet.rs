//! A bettor's stake on one outcome of a streamer's prediction (one row per bettor, raised by
//! later bets).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prediction_bets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub prediction_id: String,
    pub bettor_id: String,
    /// The outcome's position.
    pub outcome: i32,
    pub points: i64,
    /// The outcome's share of the pool when the points were staked, in parts per million,
    /// weighted by points over the bettor's additions.
    pub implied_ppm: i32,
    /// Set once settled: points credited back (0 for a losing bet).
    pub payout: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
