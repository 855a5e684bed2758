//! Reading payouts: one by id, a streamer's list, and what the worker watches (workflows not
//! yet started, payouts stuck at the bank).

use crate::LedgerError;
use crate::listing::Order;
use crate::status::PayoutStatus;
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{payout, reconciliation_case};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

/// The payout with this id, or `NotFound`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<payout::Model, LedgerError> {
    payout::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("no payout has id {id}")))
}

/// A streamer's payouts, of `status` if given (ordered by [`payout_order`]).
pub fn payouts(streamer_id: &str, status: Option<PayoutStatus>) -> Select<payout::Entity> {
    let mut select = payout::Entity::find().filter(payout::Column::StreamerId.eq(streamer_id));
    if let Some(status) = status {
        select = select.filter(payout::Column::Status.eq(status));
    }
    select
}

/// Payouts by id: request order (ids are time-ordered UUIDv7); `payouts_streamer` makes a page
/// an index range.
pub fn payout_order(descending: bool) -> Order {
    Order {
        tag: "payouts:requested",
        sort: None,
        id: Expr::col((payout::Entity, payout::Column::Id)),
        descending,
    }
}

/// Payouts requested before `before` whose workflow is not known to be started, oldest first,
/// at most `limit`.
pub async fn unstarted<C: ConnectionTrait>(
    db: &C,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<String>, LedgerError> {
    Ok(payout::Entity::find()
        .select_only()
        .column(payout::Column::Id)
        .filter(payout::Column::WorkflowStartedAt.is_null())
        .filter(payout::Column::RequestedAt.lt(before))
        .order_by_asc(payout::Column::RequestedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Records that the payout's workflow is started.
pub async fn mark_workflow_started<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<(), LedgerError> {
    payout::Entity::update_many()
        .col_expr(payout::Column::WorkflowStartedAt, Expr::value(Utc::now()))
        .filter(payout::Column::Id.eq(id))
        .filter(payout::Column::WorkflowStartedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// PAID payouts finished since `since` that no reconciliation case names yet, by id after
/// `after` (a keyset page of at most `limit`, from an index range of `payouts_paid`): what the
/// worker asks the bank about again, in case it sent one back.
pub async fn paid_since<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<payout::Model>, LedgerError> {
    let mut select = payout::Entity::find()
        .filter(payout::Column::Status.eq(PayoutStatus::Paid))
        .filter(payout::Column::FinishedAt.gte(since))
        .filter(
            payout::Column::Id.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(reconciliation_case::Column::PayoutId)
                    .from(reconciliation_case::Entity)
                    .and_where(reconciliation_case::Column::PayoutId.is_not_null())
                    .to_owned(),
            ),
        )
        .order_by_asc(payout::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        select = select.filter(payout::Column::Id.gt(after));
    }
    Ok(select.all(db).await?)
}

/// How many payouts have been PROCESSING (at the bank) since before `since`.
pub async fn stuck_count<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
) -> Result<u64, LedgerError> {
    Ok(payout::Entity::find()
        .filter(payout::Column::Status.eq(PayoutStatus::Processing))
        .filter(payout::Column::ProcessingAt.lt(since))
        .count(db)
        .await?)
}

/// How many payouts are held for an operator, and how many of them since before `since`.
pub async fn held_count<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
) -> Result<(u64, u64), LedgerError> {
    let held = || {
        payout::Entity::find()
            .filter(payout::Column::Status.eq(PayoutStatus::Requested))
            .filter(payout::Column::HeldAt.is_not_null())
    };
    let all = held().count(db).await?;
    let overdue = held()
        .filter(payout::Column::HeldAt.lt(since))
        .count(db)
        .await?;
    Ok((all, overdue))
}
