//! Reconciliation cases: opened once per provider's word, read and counted for operators.

use crate::LedgerError;
use crate::listing::Order;
pub use crate::operator::Waiting;
use crate::status::{CaseKind, CaseStatus, TopUpStatus};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{reconciliation_case as case, top_up};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Select,
    TransactionTrait,
};

/// A case to open.
#[derive(Clone, Debug)]
pub struct NewCase {
    pub kind: CaseKind,
    /// What it is about, unique per kind: the same word delivered again opens nothing.
    pub subject: String,
    pub user_id: String,
    pub top_up_id: Option<String>,
    pub payment_key: Option<String>,
    pub payout_id: Option<String>,
    /// Won in question (> 0).
    pub amount: i64,
    /// What the provider or bank said.
    pub detail: String,
}

/// Opens `new` unless a case of its kind and subject exists, inside the caller's transaction;
/// the case, and whether this call opened it.
pub async fn open<C: ConnectionTrait>(
    db: &C,
    new: NewCase,
) -> Result<(case::Model, bool), LedgerError> {
    if new.amount <= 0 {
        return Err(LedgerError::Corrupt(format!(
            "a {} case of {} won about {}",
            new.kind, new.amount, new.subject
        )));
    }
    let row = case::Model {
        id: uuid::Uuid::now_v7().to_string(),
        kind: new.kind,
        subject: new.subject.clone(),
        status: CaseStatus::Open,
        user_id: new.user_id,
        top_up_id: new.top_up_id,
        payment_key: new.payment_key,
        payout_id: new.payout_id,
        amount: new.amount,
        detail: new.detail,
        opened_at: Utc::now(),
        resolution: None,
        resolved_by: None,
        resolved_at: None,
        debited: 0,
        owed: 0,
        returned: 0,
        notice_claimed_until: None,
        notice_sent_at: None,
        notice_status: None,
        notice_error: None,
    };
    let inserted = case::Entity::insert(case::ActiveModel::from(row))
        .on_conflict(
            OnConflict::columns([case::Column::Kind, case::Column::Subject])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let found = case::Entity::find()
        .filter(case::Column::Kind.eq(new.kind))
        .filter(case::Column::Subject.eq(&new.subject))
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt(format!("case {} vanished", new.subject)))?;
    Ok((found, inserted == 1))
}

/// The provider says it has cancelled all but `remaining_won` of top-up `top_up_id`'s payment
/// (credited), beyond the top-up's own withdrawal (`cancelTopUp`). Opens a case for what it cancelled beyond what
/// earlier cases record (`TOPUP_CANCELLED_AT_PROVIDER` when nothing remains, else
/// `PARTIAL_CANCEL_AT_PROVIDER`), and records the new total on the top-up, in one transaction
/// that holds the top-up's row: deliveries of one cancel, however many and however
/// concurrent, open one case, and two cancels never count the same won twice. `None`: nothing
/// new was cancelled.
pub async fn provider_cancelled(
    db: &DatabaseConnection,
    top_up_id: &str,
    remaining_won: i64,
    detail: &str,
) -> Result<Option<case::Model>, LedgerError> {
    let txn = db.begin().await?;
    // Takes the top-up's row for this transaction before reading it.
    top_up::Entity::update_many()
        .col_expr(
            top_up::Column::ProviderCancelledWon,
            Expr::col(top_up::Column::ProviderCancelledWon),
        )
        .filter(top_up::Column::Id.eq(top_up_id))
        .exec(&txn)
        .await?;
    let t = top_up::Entity::find_by_id(top_up_id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("no top-up has id {top_up_id}")))?;
    // What the provider cancelled less this top-up's own withdrawal (`cancelTopUp`, all or part).
    let own = match t.status {
        TopUpStatus::Withdrawing | TopUpStatus::Withdrawn => t.withdrawal_won(),
        _ => 0,
    };
    let cancelled = t
        .amount
        .saturating_sub(remaining_won.clamp(0, t.amount))
        .saturating_sub(own)
        .max(0);
    let new = cancelled - t.provider_cancelled_won;
    if new <= 0 {
        txn.rollback().await?;
        return Ok(None);
    }
    let kind = if remaining_won <= 0 {
        CaseKind::TopupCancelledAtProvider
    } else {
        CaseKind::PartialCancelAtProvider
    };
    let (opened, _) = open(
        &txn,
        NewCase {
            kind,
            subject: format!("top-up:{}:cancelled:{cancelled}", t.id),
            user_id: t.user_id.clone(),
            top_up_id: Some(t.id.clone()),
            payment_key: t.payment_key.clone(),
            payout_id: None,
            amount: new,
            detail: detail.to_owned(),
        },
    )
    .await?;
    top_up::Entity::update_many()
        .col_expr(top_up::Column::ProviderCancelledWon, Expr::value(cancelled))
        .filter(top_up::Column::Id.eq(top_up_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(opened))
}

/// The case with this id, or `NotFound`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<case::Model, LedgerError> {
    case::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("no reconciliation case has id {id}")))
}

/// Cases of `status` and `kind` when given, of one user when given (ordered by
/// [`case_order`]).
pub fn cases(
    status: Option<CaseStatus>,
    kind: Option<CaseKind>,
    user_id: Option<&str>,
) -> Select<case::Entity> {
    let mut select = case::Entity::find();
    if let Some(status) = status {
        select = select.filter(case::Column::Status.eq(status));
    }
    if let Some(kind) = kind {
        select = select.filter(case::Column::Kind.eq(kind));
    }
    if let Some(user_id) = user_id {
        select = select.filter(case::Column::UserId.eq(user_id));
    }
    select
}

/// Cases by id: the order they were opened in (ids are time-ordered UUIDv7), oldest first
/// unless `descending`: a work queue.
pub fn case_order(descending: bool) -> Order {
    Order {
        tag: "reconciliation_cases:opened",
        sort: None,
        id: Expr::col((case::Entity, case::Column::Id)),
        descending,
    }
}

/// Counts the OPEN cases (an index range of `reconciliation_cases_status`).
pub async fn waiting<C: ConnectionTrait>(
    db: &C,
    overdue_before: DateTime<Utc>,
) -> Result<Waiting, LedgerError> {
    let open = CaseStatus::Open.as_str();
    crate::operator::waiting_in(
        db,
        "reconciliation_cases",
        "opened_at",
        open,
        overdue_before,
    )
    .await
}
