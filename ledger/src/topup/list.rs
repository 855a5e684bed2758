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

/// Where a pass over the stale top-ups of one status stopped: the last one's time in that status
/// and id.
pub type StaleCursor = (chrono::DateTime<chrono::Utc>, String);

/// Top-ups of `provider` in `status` (CONFIRMING or WITHDRAWING) since before `before`, oldest
/// first, after `after` when given, at most `limit`: what the worker asks the provider about
/// again. Going on from where the last page stopped, a pass reaches every one of them, however
/// many the provider keeps answering nothing for.
pub async fn stale<C: sea_orm::ConnectionTrait>(
    db: &C,
    status: TopUpStatus,
    provider: &str,
    before: chrono::DateTime<chrono::Utc>,
    after: Option<&StaleCursor>,
    limit: u64,
) -> Result<Vec<top_up::Model>, crate::LedgerError> {
    use sea_orm::sea_query::{Condition, ExprTrait};
    use sea_orm::{QueryOrder, QuerySelect};
    let since = match status {
        TopUpStatus::Withdrawing => top_up::Column::WithdrawingAt,
        _ => top_up::Column::ConfirmingAt,
    };
    let mut select = top_up::Entity::find()
        .filter(top_up::Column::Status.eq(status))
        .filter(top_up::Column::Provider.eq(provider))
        .filter(since.lt(before));
    if let Some((at, id)) = after {
        select = select.filter(
            Condition::any()
                .add(since.gt(*at))
                .add(since.eq(*at).and(top_up::Column::Id.gt(id.as_str()))),
        );
    }
    Ok(select
        .order_by_asc(since)
        .order_by_asc(top_up::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Where a page of [`stale`] top-ups in `status` ends, to go on from there.
pub fn stale_cursor(status: TopUpStatus, last: &top_up::Model) -> Option<StaleCursor> {
    let at = match status {
        TopUpStatus::Withdrawing => last.withdrawing_at,
        _ => last.confirming_at,
    };
    at.map(|at| (at, last.id.clone()))
}
