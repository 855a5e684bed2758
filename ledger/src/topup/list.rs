//! A user's top-ups, newest first, for `Wallet.topUps`.

use crate::listing::Order;
use crate::status::TopUpStatus;
use missionlink_entities::missions::top_up;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

/// `user_id`'s top-ups, of `status` if given (ordered by [`top_up_order`]).
pub fn top_ups(user_id: &str, status: Option<TopUpStatus>) -> Select<top_up::Entity> {
    let mut select = top_up::Entity::find().filter(top_up::Column::UserId.eq(user_id));
    if let Some(status) = status {
        select = select.filter(top_up::Column::Status.eq(status));
    }
    select
}

/// Top-ups by id: order of preparation (ids are time-ordered UUIDv7); `top_ups_user` makes a
/// page an index range.
pub fn top_up_order(descending: bool) -> Order {
    Order {
        tag: "topups:prepared",
        sort: None,
        id: Expr::col((top_up::Entity, top_up::Column::Id)),
        descending,
    }
}
