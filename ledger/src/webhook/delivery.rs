//! The webhooks' delivery state: leases (one API process sends a webhook at a time), the
//! cursor's moves, each attempt's record, giving up, and the give-up notice's own claim.
//!
//! Every write of a delivering process names its lease (`lease_owner`): once its lease was
//! taken over, its writes match no row and it stops ([`LedgerError::Contended`]), so two
//! processes never both move one cursor.

use super::now;
use crate::LedgerError;
use crate::status::{WebhookDeliveryStatus, WebhookStatus};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{webhook, webhook_delivery};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

/// How one attempt at one event went.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub seq: i64,
    /// The event's kind, as stored.
    pub kind: String,
    /// The receiver's HTTP status, when it answered.
    pub response_code: Option<i32>,
    pub latency_ms: Option<i32>,
    /// Why it failed (`None` when delivered).
    pub error: Option<String>,
}

/// Leased by no live process: never leased, released, or its lease ran out. A process's own
/// live leases are not free either: what it holds, it is sending.
fn lease_free(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(webhook::Column::LeaseUntil.is_null())
        .add(webhook::Column::LeaseUntil.lt(now))
}

fn held_by(owner: &str) -> Condition {
    Condition::all()
        .add(webhook::Column::LeaseOwner.eq(owner))
        .add(webhook::Column::Status.eq(WebhookStatus::Active))
}

fn lost(id: &str) -> LedgerError {
    LedgerError::Contended(format!(
        "webhook {id}: its lease was taken over (or it was disabled or deleted)"
    ))
}

/// Claims, for `owner` until `now + lease`, at most `limit` ACTIVE webhooks that have an event
/// to send and are due (not waiting out a retry, not leased by a live process).
pub async fn claim_due(
    db: &DatabaseConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<webhook::Model>, LedgerError> {
    // Behind its streamer's feed: an event to send.
    let behind = Expr::cust(
        "webhooks.delivered_seq < (SELECT f.last_seq FROM streamer_feeds f \
         WHERE f.streamer_id = webhooks.streamer_id)",
    );
    let candidates: Vec<webhook::Model> = webhook::Entity::find()
        .filter(webhook::Column::Status.eq(WebhookStatus::Active))
        .filter(
            Condition::any()
                .add(webhook::Column::RetryAt.is_null())
                .add(webhook::Column::RetryAt.lte(now)),
        )
        .filter(lease_free(now))
        .filter(behind)
        .order_by_asc(webhook::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for w in candidates {
        let until = now + lease;
        let taken = webhook::Entity::update_many()
            .col_expr(webhook::Column::LeaseOwner, Expr::value(owner))
            .col_expr(webhook::Column::LeaseUntil, Expr::value(until))
            .filter(webhook::Column::Id.eq(&w.id))
            .filter(webhook::Column::Status.eq(WebhookStatus::Active))
            .filter(lease_free(now))
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            claimed.push(webhook::Model {
                lease_owner: Some(owner.to_owned()),
                lease_until: Some(until),
                ..w
            });
        }
    }
    Ok(claimed)
}

/// Moves the cursor to `through` (events not taken by this webhook, or delivered) and extends
/// the lease to `lease_until`; a delivered `attempt` is recorded with it, in one transaction.
pub async fn advance(
    db: &DatabaseConnection,
    id: &str,
    owner: &str,
    through: i64,
    delivered: Option<&Attempt>,
    lease_until: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let txn = db.begin().await?;
    let moved = webhook::Entity::update_many()
        .col_expr(webhook::Column::DeliveredSeq, Expr::value(through))
        .col_expr(
            webhook::Column::FailingSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(webhook::Column::RetryAt, Expr::value(None::<DateTime<Utc>>))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(lease_until))
        .filter(webhook::Column::Id.eq(id))
        .filter(held_by(owner))
        .filter(webhook::Column::DeliveredSeq.lte(through))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(lost(id));
    }
    if let Some(attempt) = delivered {
        record(&txn, id, attempt, WebhookDeliveryStatus::Delivered).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What became of a webhook after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Tried again at this time (its lease released meanwhile).
    RetryAt(DateTime<Utc>),
    /// It had been failing for `give_up_after`: DISABLED, its streamer's notice due.
    Disabled,
}

/// Records a failed attempt at the next event, in one transaction: the webhook waits
/// `wait(n)` before its `n`th attempt at this event, or, failing since `give_up_after` ago or
/// longer, is disabled.
pub async fn failed(
    db: &DatabaseConnection,
    id: &str,
    owner: &str,
    attempt: &Attempt,
    wait: impl Fn(i32) -> Duration,
    give_up_after: Duration,
) -> Result<AfterFailure, LedgerError> {
    let now = now();
    let txn = db.begin().await?;
    // Written first, naming the lease: it takes the row (SQLite: the database) before anything
    // is read, and changes nothing when the lease was taken over.
    let marked = webhook::Entity::update_many()
        .col_expr(
            webhook::Column::FailingSince,
            Expr::col(webhook::Column::FailingSince).if_null(now),
        )
        .filter(webhook::Column::Id.eq(id))
        .filter(held_by(owner))
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        return Err(lost(id));
    }
    let since = webhook::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .and_then(|w| w.failing_since)
        .unwrap_or(now);
    if now - since >= give_up_after {
        let reason = format!(
            "deliveries kept failing for {}s (WEBHOOK_GIVE_UP_SECONDS); the last: {}",
            give_up_after.num_seconds(),
            attempt.error.as_deref().unwrap_or("no answer")
        );
        give_up(&txn, id, owner, &reason, Some(attempt)).await?;
        txn.commit().await?;
        return Ok(AfterFailure::Disabled);
    }
    let made = attempts(&txn, id, attempt.seq).await?;
    let retry_at = now + wait(made + 2);
    webhook::Entity::update_many()
        .col_expr(webhook::Column::RetryAt, Expr::value(retry_at))
        .col_expr(webhook::Column::LeaseOwner, Expr::value(None::<String>))
        .col_expr(
            webhook::Column::LeaseUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(webhook::Column::Id.eq(id))
        .filter(held_by(owner))
        .exec(&txn)
        .await?;
    record(&txn, id, attempt, WebhookDeliveryStatus::Retrying).await?;
    txn.commit().await?;
    Ok(AfterFailure::RetryAt(retry_at))
}

/// Attempts made so far at the webhook's event `seq`.
async fn attempts<C: ConnectionTrait>(txn: &C, id: &str, seq: i64) -> Result<i32, LedgerError> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .filter(webhook_delivery::Column::Seq.eq(seq))
        .one(txn)
        .await?
        .map_or(0, |d| d.attempts))
}

/// Gives the webhook up: DISABLED with `reason`, the event it was failing on recorded FAILED
/// (when there is one), its streamer's notice due.
pub async fn disable(
    db: &DatabaseConnection,
    id: &str,
    owner: &str,
    reason: &str,
    attempt: Option<&Attempt>,
) -> Result<(), LedgerError> {
    let txn = db.begin().await?;
    give_up(&txn, id, owner, reason, attempt).await?;
    txn.commit().await?;
    Ok(())
}

async fn give_up<C: ConnectionTrait>(
    txn: &C,
    id: &str,
    owner: &str,
    reason: &str,
    attempt: Option<&Attempt>,
) -> Result<(), LedgerError> {
    let done = webhook::Entity::update_many()
        .col_expr(
            webhook::Column::Status,
            Expr::value(WebhookStatus::Disabled),
        )
        .col_expr(webhook::Column::DisabledAt, Expr::value(now()))
        .col_expr(webhook::Column::DisabledReason, Expr::value(reason))
        .col_expr(webhook::Column::RetryAt, Expr::value(None::<DateTime<Utc>>))
        .col_expr(webhook::Column::LeaseOwner, Expr::value(None::<String>))
        .col_expr(
            webhook::Column::LeaseUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(webhook::Column::Id.eq(id))
        .filter(held_by(owner))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(lost(id));
    }
    if let Some(attempt) = attempt {
        record(txn, id, attempt, WebhookDeliveryStatus::Failed).await?;
    }
    Ok(())
}

/// The webhook's signing secret as it is now, while `owner` holds it (`Contended` once it does
/// not: it was taken over, disabled or deleted).
pub async fn secret_held(
    db: &DatabaseConnection,
    id: &str,
    owner: &str,
) -> Result<String, LedgerError> {
    webhook::Entity::find_by_id(id.to_owned())
        .filter(held_by(owner))
        .one(db)
        .await?
        .map(|w| w.secret)
        .ok_or_else(|| lost(id))
}

/// Lets go of the webhook before the lease runs out (a round that stopped early).
pub async fn release<C: ConnectionTrait>(db: &C, id: &str, owner: &str) -> Result<(), LedgerError> {
    webhook::Entity::update_many()
        .col_expr(webhook::Column::LeaseOwner, Expr::value(None::<String>))
        .col_expr(
            webhook::Column::LeaseUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds an attempt to the event's delivery row (made by its first attempt).
async fn record<C: ConnectionTrait>(
    txn: &C,
    webhook_id: &str,
    a: &Attempt,
    status: WebhookDeliveryStatus,
) -> Result<(), LedgerError> {
    let now = now();
    let row = webhook_delivery::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        webhook_id: Set(webhook_id.to_owned()),
        seq: Set(a.seq),
        kind: Set(a.kind.clone()),
        status: Set(status),
        attempts: Set(1),
        response_code: Set(a.response_code),
        latency_ms: Set(a.latency_ms),
        error: Set(a.error.clone()),
        first_attempt_at: Set(now),
        last_attempt_at: Set(now),
    };
    let attempts = (webhook_delivery::Entity, webhook_delivery::Column::Attempts);
    webhook_delivery::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                webhook_delivery::Column::WebhookId,
                webhook_delivery::Column::Seq,
            ])
            .update_columns([
                webhook_delivery::Column::Status,
                webhook_delivery::Column::ResponseCode,
                webhook_delivery::Column::LatencyMs,
                webhook_delivery::Column::Error,
                webhook_delivery::Column::LastAttemptAt,
            ])
            .value(
                webhook_delivery::Column::Attempts,
                Expr::col(attempts).add(1),
            )
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Claims one DISABLED webhook whose streamer was not yet told, for `lease` (the notice is sent,
/// then [`notice_sent`]); `None` when there is none.
pub async fn claim_notice(
    db: &DatabaseConnection,
    owner: &str,
    lease: Duration,
) -> Result<Option<webhook::Model>, LedgerError> {
    let now = now();
    let due = webhook::Entity::find()
        .filter(webhook::Column::Status.eq(WebhookStatus::Disabled))
        .filter(webhook::Column::NoticeSentAt.is_null())
        .filter(lease_free(now))
        .order_by_asc(webhook::Column::DisabledAt)
        .limit(1)
        .one(db)
        .await?;
    let Some(w) = due else { return Ok(None) };
    let taken = webhook::Entity::update_many()
        .col_expr(webhook::Column::LeaseOwner, Expr::value(owner))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(now + lease))
        .filter(webhook::Column::Id.eq(&w.id))
        .filter(webhook::Column::Status.eq(WebhookStatus::Disabled))
        .filter(webhook::Column::NoticeSentAt.is_null())
        .filter(lease_free(now))
        .exec(db)
        .await?;
    Ok((taken.rows_affected == 1).then_some(w))
}

/// Records the give-up notice sent by `owner` (while the webhook is still DISABLED), and lets
/// go of its claim in any case.
pub async fn notice_sent(
    db: &DatabaseConnection,
    id: &str,
    owner: &str,
) -> Result<(), LedgerError> {
    let txn = db.begin().await?;
    webhook::Entity::update_many()
        .col_expr(webhook::Column::NoticeSentAt, Expr::value(now()))
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::Status.eq(WebhookStatus::Disabled))
        .exec(&txn)
        .await?;
    release(&txn, id, owner).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes the record of deliveries last tried before `cutoff` (the feed's retention: the
/// events they were about are gone too). Returns how many.
pub async fn prune(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> Result<u64, LedgerError> {
    Ok(webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::LastAttemptAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
