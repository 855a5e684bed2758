//! The receipts owed for top-ups and withdrawals: an outbox (`topup_receipts`). A row is
//! written in the transaction of its event, so an event without its receipt cannot commit; the
//! worker claims due rows for a short lease, sends each, and records it sent. A worker that
//! dies mid-send leaves the claim to lapse and another sends it: at most the one message in
//! flight at the crash can go twice, every other is sent exactly once.

use crate::LedgerError;
use crate::status::{DeliveryStatus, TopUpEvent};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::topup_receipt;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Queues the receipt of `event` for top-up `id`, inside the event's transaction (once).
pub(crate) async fn record<C: ConnectionTrait>(
    db: &C,
    id: &str,
    event: TopUpEvent,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    topup_receipt::Entity::insert(topup_receipt::ActiveModel {
        top_up_id: Set(id.to_owned()),
        event: Set(event),
        created_at: Set(now),
        claimed_until: Set(None),
        address: Set(None),
        subject: Set(None),
        status: Set(None),
        error: Set(None),
        sent_at: Set(None),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(topup_receipt::Column::ClaimedUntil.is_null())
        .add(topup_receipt::Column::ClaimedUntil.lt(now))
}

/// Claims at most `limit` unsent receipts until `now + lease`, oldest first: each one returned
/// is this caller's to send until then.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: u64,
) -> Result<Vec<(String, TopUpEvent)>, LedgerError> {
    let due: Vec<(String, TopUpEvent)> = topup_receipt::Entity::find()
        .select_only()
        .column(topup_receipt::Column::TopUpId)
        .column(topup_receipt::Column::Event)
        .filter(topup_receipt::Column::SentAt.is_null())
        .filter(unclaimed(now))
        .order_by_asc(topup_receipt::Column::CreatedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let until = now.checked_add_signed(lease).unwrap_or(now);
    let mut claimed = Vec::with_capacity(due.len());
    for (id, event) in due {
        // The claim is a conditional update: of two workers, one matches the row.
        let won = topup_receipt::Entity::update_many()
            .col_expr(topup_receipt::Column::ClaimedUntil, Expr::value(until))
            .filter(topup_receipt::Column::TopUpId.eq(&id))
            .filter(topup_receipt::Column::Event.eq(event))
            .filter(topup_receipt::Column::SentAt.is_null())
            .filter(unclaimed(now))
            .exec(db)
            .await?
            .rows_affected;
        if won == 1 {
            claimed.push((id, event));
        }
    }
    Ok(claimed)
}

/// Records the receipt of `event` for top-up `id` sent (or refused for good by the mail
/// provider, `status` FAILED with `error`).
pub async fn mark_sent<C: ConnectionTrait>(
    db: &C,
    id: &str,
    event: TopUpEvent,
    address: &str,
    subject: &str,
    status: DeliveryStatus,
    error: Option<String>,
) -> Result<(), LedgerError> {
    topup_receipt::Entity::update_many()
        .col_expr(topup_receipt::Column::Address, Expr::value(address))
        .col_expr(topup_receipt::Column::Subject, Expr::value(subject))
        .col_expr(topup_receipt::Column::Status, Expr::value(status))
        .col_expr(topup_receipt::Column::Error, Expr::value(error))
        .col_expr(topup_receipt::Column::SentAt, Expr::value(Utc::now()))
        .filter(topup_receipt::Column::TopUpId.eq(id))
        .filter(topup_receipt::Column::Event.eq(event))
        .filter(topup_receipt::Column::SentAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
