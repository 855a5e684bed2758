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

/// Top-ups in `status` (CONFIRMING or WITHDRAWING) since before `before`, oldest first, at
/// most `limit`: what the worker asks the provider about again.
pub async fn stale<C: sea_orm::ConnectionTrait>(
    db: &C,
    status: TopUpStatus,
    before: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> Result<Vec<top_up::Model>, crate::LedgerError> {
    use sea_orm::{QueryOrder, QuerySelect};
    let since = match status {
        TopUpStatus::Withdrawing => top_up::Column::WithdrawingAt,
        _ => top_up::Column::ConfirmingAt,
    };
    Ok(top_up::Entity::find()
        .filter(top_up::Column::Status.eq(status))
        .filter(since.lt(before))
        .order_by_asc(since)
        .limit(limit)
        .all(db)
        .await?)
}
