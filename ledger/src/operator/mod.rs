//! What operators do (issues 16, 23 and 25): settle a dispute, cancel a mission, suspend and
//! unsuspend a user, hold, release or cancel a payout, decide a streamer application, settle
//! a reconciliation case (`crate::reconcile`), read one user's money. Every action is one
//! append-only `operator_actions` row (who, what, when, the note),
//! written in the same transaction as its effect on the missions database, so an effect here
//! never happens without its record. A mission's change also asks its workflow to hear of it
//! as the `operatorAction` signal (the outbox's `pending_action`), so the action shows in the
//! mission's workflow history too.
//!
//! A suspension also has an effect in the users database (who may log in), made by
//! `missionlink_identity::suspend` after this records it: the record comes first, so a suspension never takes effect
//! unrecorded.

mod missions;
mod payouts;
mod streamers;

pub use missions::{CancelReason, cancel, cancel_missions_of, cancel_reason, resolve};
pub use payouts::{cancel_payout, cancel_payouts_of, hold, release};
pub use streamers::{Decided, decide_application};

use crate::LedgerError;
use crate::rules::invalid;
use crate::status::{OperatorActionKind, Outcome};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::operator_action;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Who acts, and why: every operator action carries both.
#[derive(Clone, Debug)]
pub struct Acting {
    pub operator_id: String,
    pub note: String,
}

impl Acting {
    /// The operator `operator_id` acting with `note` (trimmed; required, at most
    /// [`MAX_NOTE_CHARS`], no control characters but line breaks).
    pub fn new(operator_id: &str, note: &str) -> Result<Self, LedgerError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(invalid(
                "note",
                "note must say why: every operator action is recorded with one",
            ));
        }
        if note.chars().count() > MAX_NOTE_CHARS
            || note.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(invalid(
                "note",
                format!(
                    "note must be at most {MAX_NOTE_CHARS} characters, without control characters"
                ),
            ));
        }
        Ok(Self {
            operator_id: operator_id.to_owned(),
            note: note.to_owned(),
        })
    }
}

/// What one action was about.
#[derive(Clone, Debug, Default)]
pub(crate) struct Target<'a> {
    pub mission_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub outcome: Option<Outcome>,
    pub suspended_until: Option<DateTime<Utc>>,
    pub cause_id: Option<&'a str>,
    pub payout_id: Option<&'a str>,
    pub application_id: Option<&'a str>,
    pub case_id: Option<&'a str>,
}

/// Appends one action to the record, in the caller's transaction.
pub(crate) async fn record<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    action: OperatorActionKind,
    target: Target<'_>,
) -> Result<operator_action::Model, LedgerError> {
    let row = operator_action::Model {
        id: uuid::Uuid::now_v7().to_string(),
        operator_id: acting.operator_id.clone(),
        action,
        mission_id: target.mission_id.map(str::to_owned),
        user_id: target.user_id.map(str::to_owned),
        outcome: target.outcome,
        suspended_until: target.suspended_until,
        cause_id: target.cause_id.map(str::to_owned),
        note: acting.note.clone(),
        created_at: Utc::now(),
        payout_id: target.payout_id.map(str::to_owned),
        application_id: target.application_id.map(str::to_owned),
        case_id: target.case_id.map(str::to_owned),
    };
    operator_action::Entity::insert(operator_action::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await?;
    Ok(row)
}

/// Records the suspension of `user_id` until `until` (`None`: until lifted). The record is
/// also the missions database's own knowledge of it: from its commit, `mission::create` refuses
/// proposals to a suspended streamer ([`is_suspended`]); [`cancel_missions_of`] then cancels
/// what is open.
#[tracing::instrument(name = "db.record_suspension", skip_all)]
pub async fn suspend(
    db: &DatabaseConnection,
    acting: &Acting,
    user_id: &str,
    until: Option<DateTime<Utc>>,
) -> Result<operator_action::Model, LedgerError> {
    record(
        db,
        acting,
        OperatorActionKind::SuspendUser,
        Target {
            user_id: Some(user_id),
            suspended_until: until,
            ..Target::default()
        },
    )
    .await
}

/// Whether `user_id` is suspended at `now` by the record: their latest suspension or lifting
/// is a suspension that has not ended.
pub async fn is_suspended<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    Ok(suspension_in_force(db, user_id, now).await?.is_some())
}

/// The recorded suspension of `user_id` in force at `now`, if any: their latest suspension or
/// lifting, when it is a suspension that has not ended.
pub async fn suspension_in_force<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<operator_action::Model>, LedgerError> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let latest = operator_action::Entity::find()
        .filter(operator_action::Column::UserId.eq(user_id))
        .filter(operator_action::Column::Action.is_in([
            OperatorActionKind::SuspendUser,
            OperatorActionKind::UnsuspendUser,
        ]))
        .order_by_desc(operator_action::Column::Id)
        .one(db)
        .await?;
    Ok(latest.filter(|a| {
        a.action == OperatorActionKind::SuspendUser && a.suspended_until.is_none_or(|u| u > now)
    }))
}

/// Records that `user_id`'s suspension is lifted.
#[tracing::instrument(name = "db.record_unsuspension", skip_all)]
pub async fn unsuspend(
    db: &DatabaseConnection,
    acting: &Acting,
    user_id: &str,
) -> Result<operator_action::Model, LedgerError> {
    record(
        db,
        acting,
        OperatorActionKind::UnsuspendUser,
        Target {
            user_id: Some(user_id),
            ..Target::default()
        },
    )
    .await
}

/// Records that an operator reads `user_id`'s money (`userMoney`, issue 26, item 5): every
/// such read is on the record, before anything is shown. `NotFound` (nothing recorded) for a
/// user the missions database has no wallet of.
#[tracing::instrument(name = "db.record_money_read", skip_all)]
pub async fn record_money_read(
    db: &DatabaseConnection,
    acting: &Acting,
    user_id: &str,
) -> Result<operator_action::Model, LedgerError> {
    let wallet = crate::AccountId::wallet(crate::Currency::Cash, user_id);
    let found = missionlink_entities::missions::account::Entity::find_by_id(wallet.as_str())
        .one(db)
        .await?;
    if found.is_none() {
        return Err(LedgerError::NotFound(format!(
            "no user {user_id} holds money here"
        )));
    }
    record(
        db,
        acting,
        OperatorActionKind::ReadUserMoney,
        Target {
            user_id: Some(user_id),
            ..Target::default()
        },
    )
    .await
}

/// One recorded action, or `NotFound`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<operator_action::Model, LedgerError> {
    operator_action::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such operator action".into()))
}

/// What waits for an operator (disputes, reconciliation cases), and how many of them since
/// before `overdue_before`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct Waiting {
    pub open: i64,
    pub overdue: i64,
}

/// Counts the DISPUTED missions (an index range of `missions_status`).
pub async fn disputes_waiting<C: ConnectionTrait>(
    db: &C,
    overdue_before: DateTime<Utc>,
) -> Result<Waiting, LedgerError> {
    let status = crate::status::MissionStatus::Disputed;
    waiting_in(
        db,
        "missions",
        "disputed_at",
        status.as_str(),
        overdue_before,
    )
    .await
}

/// Counts the rows of `table` in `status`, and of those the ones whose `since` column is before
/// `overdue_before` (one index range of the table's status index).
pub(crate) async fn waiting_in<C: ConnectionTrait>(
    db: &C,
    table: &str,
    since: &str,
    status: &str,
    overdue_before: DateTime<Utc>,
) -> Result<Waiting, LedgerError> {
    use sea_orm::FromQueryResult;
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS open, \
         CAST(COALESCE(SUM(CASE WHEN {since} < {} THEN 1 ELSE 0 END), 0) AS BIGINT) AS overdue \
         FROM {table} WHERE status = '{status}'",
        crate::sql::param(backend, 1),
    );
    Ok(
        Waiting::find_by_statement(sea_orm::Statement::from_sql_and_values(
            backend,
            &sql,
            [overdue_before.into()],
        ))
        .one(db)
        .await?
        .unwrap_or_default(),
    )
}
