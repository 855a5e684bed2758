//! The notices owed to users for resolved reconciliation cases (issue 26): a case resolved with
//! a movement of theirs (`DEBIT_WALLET`, `RECORD_RECEIVABLE`, `RETURN_TO_BALANCE`) or a refund
//! to their card (`REFUND_AT_PROVIDER`) is due a notice from its resolution on. The case row is
//! its own outbox (`notice_*` columns, missions migration 000021), claimed for a lease and marked
//! sent as the top-up receipts are: at most the one message in flight at a worker's crash can
//! go twice.

use crate::LedgerError;
use crate::status::{CaseAction, CaseStatus, DeliveryStatus};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::reconciliation_case as case;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The resolutions a user is told of.
pub const NOTIFIED: [CaseAction; 4] = [
    CaseAction::DebitWallet,
    CaseAction::RecordReceivable,
    CaseAction::RefundAtProvider,
    CaseAction::ReturnToBalance,
];

fn due(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(case::Column::Status.eq(CaseStatus::Resolved))
        .add(case::Column::Resolution.is_in(NOTIFIED))
        .add(case::Column::NoticeSentAt.is_null())
        .add(
            Condition::any()
                .add(case::Column::NoticeClaimedUntil.is_null())
                .add(case::Column::NoticeClaimedUntil.lt(now)),
        )
}

/// Claims at most `limit` due notices until `now + lease`, the oldest resolution first: each
/// case returned is this caller's to tell its user about until then.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: u64,
) -> Result<Vec<case::Model>, LedgerError> {
    let ids: Vec<String> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(due(now))
        .order_by_asc(case::Column::ResolvedAt)
        .order_by_asc(case::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let until = now.checked_add_signed(lease).unwrap_or(now);
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        // The claim is a conditional update: of two workers, one matches the row.
        let won = case::Entity::update_many()
            .col_expr(case::Column::NoticeClaimedUntil, Expr::value(until))
            .filter(case::Column::Id.eq(&id))
            .filter(due(now))
            .exec(db)
            .await?
            .rows_affected;
        if won == 1 {
            claimed.push(super::cases::find(db, &id).await?);
        }
    }
    Ok(claimed)
}

/// Records case `id`'s notice sent (or refused for good by the mail provider, `status` FAILED
/// with `error`; or nobody to tell).
pub async fn mark_sent<C: ConnectionTrait>(
    db: &C,
    id: &str,
    status: DeliveryStatus,
    error: Option<String>,
) -> Result<(), LedgerError> {
    case::Entity::update_many()
        .col_expr(case::Column::NoticeStatus, Expr::value(status))
        .col_expr(case::Column::NoticeError, Expr::value(error))
        .col_expr(case::Column::NoticeSentAt, Expr::value(Utc::now()))
        .filter(case::Column::Id.eq(id))
        .filter(case::Column::NoticeSentAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
