//! A streamer's event feed counter: the last `seq` handed out, and how far old events were
//! pruned. Its row is locked by every commit that appends to the feed, so seqs follow commit
//! order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "streamer_feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub streamer_id: String,
    pub last_seq: i64,
    /// Events with `seq` up to this one are gone (older than the retention).
    pub pruned_through: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
