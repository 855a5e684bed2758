//! Missions and pledges: creating a mission with its first pledge, adding pledges, the
//! streamer's transitions, expiry, and the settlement that pays or refunds every pledge.
//!
//! The mission row's `status` is the truth every process agrees on. Each transition is one
//! conditional `UPDATE ... WHERE status = <expected>`, so of two racing transitions (an accept
//! and the accept window's expiry, a verdict and the deadline) exactly one wins and the other
//! sees the winner. The workflow drives time (timers) and settlement; it reads this state
//! rather than keeping its own.

use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, account};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{mission, pledge, workflow_outbox};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a mission is in its life (BRIEF §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MissionStatus {
    Pending,
    Active,
    Succeeded,
    Failed,
    Expired,
    Rejected,
}

impl MissionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MissionStatus::Pending => "PENDING",
            MissionStatus::Active => "ACTIVE",
            MissionStatus::Succeeded => "SUCCEEDED",
            MissionStatus::Failed => "FAILED",
            MissionStatus::Expired => "EXPIRED",
            MissionStatus::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        Ok(match s {
            "PENDING" => MissionStatus::Pending,
            "ACTIVE" => MissionStatus::Active,
            "SUCCEEDED" => MissionStatus::Succeeded,
            "FAILED" => MissionStatus::Failed,
            "EXPIRED" => MissionStatus::Expired,
            "REJECTED" => MissionStatus::Rejected,
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "unknown mission status {other:?}"
                )));
            }
        })
    }

    /// A terminal status: no more pledges, and settlement may run.
    pub fn is_closed(self) -> bool {
        !matches!(self, MissionStatus::Pending | MissionStatus::Active)
    }
}

impl fmt::Display for MissionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a pledge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PledgeStatus {
    Held,
    Paid,
    Refunded,
}

impl PledgeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PledgeStatus::Held => "HELD",
            PledgeStatus::Paid => "PAID",
            PledgeStatus::Refunded => "REFUNDED",
        }
    }

    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        Ok(match s {
            "HELD" => PledgeStatus::Held,
            "PAID" => PledgeStatus::Paid,
            "REFUNDED" => PledgeStatus::Refunded,
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "unknown pledge status {other:?}"
                )));
            }
        })
    }
}

/// The streamer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Success,
    Failure,
}

/// Bounds from configuration (CONTRACT.md).
#[derive(Clone, Debug)]
pub struct MissionRules {
    pub min_duration_seconds: i64,
    pub max_duration_seconds: i64,
    pub default_accept_seconds: i64,
    pub pledge_min_won: i64,
    pub pledge_max_won: i64,
    /// Betting stays open this long after acceptance (never past the deadline).
    pub prediction_window_seconds: i64,
}

/// The longest accept window a creator may ask for.
pub const MAX_ACCEPT_SECONDS: i64 = 7 * 24 * 3600;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// A mission as a creator asks for it, unvalidated. The API has checked that the streamer is a
/// registered STREAMER (that lives in the users database).
#[derive(Clone, Debug)]
pub struct NewMission {
    pub creator_id: String,
    pub streamer_id: String,
    pub title: String,
    pub description: Option<String>,
    pub amount_won: i64,
    pub duration_seconds: i64,
    pub accept_within_seconds: Option<i64>,
}

fn invalid(message: impl Into<String>) -> LedgerError {
    LedgerError::InvalidInput(message.into())
}

impl NewMission {
    fn validate(
        &self,
        rules: &MissionRules,
    ) -> Result<(String, Option<String>, Amount, i64), LedgerError> {
        let title = self.title.trim();
        let n = title.chars().count();
        if n == 0 || n > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            return Err(invalid(format!(
                "title must be 1 to {MAX_TITLE_CHARS} printable characters"
            )));
        }
        let description = match self.description.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
                return Err(invalid(format!(
                    "description must be at most {MAX_DESCRIPTION_CHARS} characters"
                )));
            }
            Some(d) => Some(d.to_owned()),
        };
        if !(rules.min_duration_seconds..=rules.max_duration_seconds)
            .contains(&self.duration_seconds)
        {
            return Err(invalid(format!(
                "durationSeconds must be between {} and {}",
                rules.min_duration_seconds, rules.max_duration_seconds
            )));
        }
        let accept = self
            .accept_within_seconds
            .unwrap_or(rules.default_accept_seconds);
        if !(1..=MAX_ACCEPT_SECONDS).contains(&accept) {
            return Err(invalid(format!(
                "acceptWithinSeconds must be between 1 and {MAX_ACCEPT_SECONDS}"
            )));
        }
        if self.creator_id == self.streamer_id {
            return Err(invalid("a streamer cannot propose a mission to themselves"));
        }
        let amount = Amount::within(self.amount_won, rules.pledge_min_won, rules.pledge_max_won)?;
        Ok((title.to_owned(), description, amount, accept))
    }
}

/// Mission ids as workflows know them.
pub fn workflow_id(mission_id: &str) -> String {
    format!("mission-{mission_id}")
}

#[derive(Serialize, Deserialize)]
struct CreatedResponse {
    mission_id: String,
}

#[derive(Serialize, Deserialize)]
struct PledgedResponse {
    pledge_id: String,
}

/// Creates a mission with the creator's first pledge held in its escrow and a "start workflow"
/// outbox record, in one transaction. Idempotent per `(creator, key)`.
#[tracing::instrument(name = "db.create_mission", skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    rules: &MissionRules,
    new: &NewMission,
    key: &IdempotencyKey,
) -> Result<mission::Model, LedgerError> {
    let (title, description, amount, accept_seconds) = new.validate(rules)?;
    let canonical = serde_json::json!([
        new.streamer_id,
        title,
        description,
        amount.get(),
        new.duration_seconds,
        accept_seconds
    ])
    .to_string();
    let hash = idempotency::request_hash("createMission", &canonical);
    let txn = db.begin().await?;
    if let Claim::Replay(response) =
        idempotency::claim(&txn, &new.creator_id, key, "createMission", &hash).await?
    {
        txn.rollback().await?;
        let r: CreatedResponse = decode(&response)?;
        return find(db, &r.mission_id).await;
    }
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    let row = mission::Model {
        id: id.clone(),
        streamer_id: new.streamer_id.clone(),
        creator_id: new.creator_id.clone(),
        title,
        description,
        status: MissionStatus::Pending.as_str().to_owned(),
        duration_seconds: new.duration_seconds,
        accept_by: now + Duration::seconds(accept_seconds),
        accepted_at: None,
        deadline: None,
        closed_at: None,
        reject_reason: None,
        settled_at: None,
        notified_at: None,
        created_at: now,
    };
    mission::Entity::insert(mission::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    account::open(&txn, &[AccountId::escrow(&id)]).await?;
    hold(&txn, &row, &new.creator_id, amount, now).await?;
    // BRIEF §6: the intent to start the workflow commits with the money it will settle.
    workflow_outbox::Entity::insert(workflow_outbox::ActiveModel {
        mission_id: Set(id.clone()),
        created_at: Set(now),
        started_at: Set(None),
        pending_signal: Set(None),
        signal_requested_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    idempotency::complete(
        &txn,
        &new.creator_id,
        key,
        &encode(&CreatedResponse { mission_id: id })?,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Adds a pledge to an open mission. Idempotent per `(backer, key)`.
///
/// Race with a closing transition: on Postgres the pledge holds the mission's [`gate`] shared
/// before checking its status, and every transition takes it exclusive, so a transition waits
/// for in-flight pledges to commit and later pledges see the new status. On SQLite the
/// idempotency claim is the transaction's first write, which serialises it with every other
/// writer. Either way a pledge is committed before the mission closes or refused.
#[tracing::instrument(name = "db.contribute", skip_all)]
pub async fn contribute(
    db: &DatabaseConnection,
    rules: &MissionRules,
    mission_id: &str,
    backer_id: &str,
    amount_won: i64,
    key: &IdempotencyKey,
) -> Result<pledge::Model, LedgerError> {
    let txn = db.begin().await?;
    let p = contribute_in(&txn, rules, mission_id, backer_id, amount_won, key).await?;
    txn.commit().await?;
    Ok(p)
}

/// The body of [`contribute`] inside the caller's transaction (or savepoint): the batcher runs
/// many of these in one commit. Writes nothing when it fails; on a replay it writes nothing and
/// returns the first pledge.
pub async fn contribute_in(
    txn: &DatabaseTransaction,
    rules: &MissionRules,
    mission_id: &str,
    backer_id: &str,
    amount_won: i64,
    key: &IdempotencyKey,
) -> Result<pledge::Model, LedgerError> {
    let (amount, hash) = pledge_request(rules, mission_id, amount_won)?;
    if let Claim::Replay(response) =
        idempotency::claim(txn, backer_id, key, CONTRIBUTE, &hash).await?
    {
        return replayed_pledge(txn, &response).await;
    }
    let m = lock_shared(txn, mission_id).await?;
    let now = Utc::now();
    ensure_pledgeable(&m, backer_id, now)?;
    let p = hold(txn, &m, backer_id, amount, now).await?;
    idempotency::complete(txn, backer_id, key, &pledged_response(&p.id)?).await?;
    Ok(p)
}

/// The idempotency operation name of a pledge.
pub(crate) const CONTRIBUTE: &str = "contribute";

/// A pledge request checked against the rules: its amount and its idempotency fingerprint.
pub(crate) fn pledge_request(
    rules: &MissionRules,
    mission_id: &str,
    amount_won: i64,
) -> Result<(Amount, String), LedgerError> {
    let amount = Amount::within(amount_won, rules.pledge_min_won, rules.pledge_max_won)?;
    let canonical = serde_json::json!([mission_id, amount.get()]).to_string();
    Ok((amount, idempotency::request_hash(CONTRIBUTE, &canonical)))
}

/// The stored answer of a pledge, for replays of its idempotency key.
pub(crate) fn pledged_response(pledge_id: &str) -> Result<String, LedgerError> {
    encode(&PledgedResponse {
        pledge_id: pledge_id.to_owned(),
    })
}

/// The pledge a stored answer names.
pub(crate) async fn replayed_pledge<C: ConnectionTrait>(
    db: &C,
    response: &str,
) -> Result<pledge::Model, LedgerError> {
    let r: PledgedResponse = decode(response)?;
    pledge::Entity::find_by_id(r.pledge_id)
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::Corrupt("replayed pledge vanished".into()))
}

/// Whether `backer_id` may pledge to `m` at `now`: not its streamer, and the mission open.
pub(crate) fn ensure_pledgeable(
    m: &mission::Model,
    backer_id: &str,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    if m.streamer_id == backer_id {
        return Err(LedgerError::Forbidden(
            "a streamer cannot pledge to their own mission".into(),
        ));
    }
    ensure_open(m, now)
}

/// A new HELD pledge (not yet stored).
pub(crate) fn new_pledge(
    mission_id: &str,
    backer_id: &str,
    amount: Amount,
    now: DateTime<Utc>,
) -> pledge::Model {
    pledge::Model {
        id: uuid::Uuid::now_v7().to_string(),
        mission_id: mission_id.to_owned(),
        backer_id: backer_id.to_owned(),
        amount: amount.get(),
        status: PledgeStatus::Held.as_str().to_owned(),
        created_at: now,
        settled_at: None,
    }
}

/// The transfer that holds pledge `p` in its mission's escrow.
pub(crate) fn hold_transfer(p: &pledge::Model, amount: Amount) -> Transfer {
    Transfer {
        id: format!("pledge:{}:{}", p.mission_id, p.id),
        debit: AccountId::wallet(Currency::Cash, &p.backer_id),
        credit: AccountId::escrow(&p.mission_id),
        amount,
        kind: "PLEDGE",
    }
}

/// Whether `m` takes pledges at `now`: PENDING within its accept window, or ACTIVE before its
/// deadline.
fn ensure_open(m: &mission::Model, now: DateTime<Utc>) -> Result<(), LedgerError> {
    let status = MissionStatus::parse(&m.status)?;
    let open = match status {
        MissionStatus::Pending => now < m.accept_by,
        MissionStatus::Active => m.deadline.is_some_and(|d| now < d),
        _ => false,
    };
    if open {
        Ok(())
    } else {
        Err(LedgerError::InvalidState(format!(
            "mission is {status} and no longer takes pledges"
        )))
    }
}

/// The mission's gate (Postgres): a transaction-scoped advisory lock on the mission, held
/// *shared* by pledges and bets and *exclusive* by status transitions. A transition therefore
/// waits for the pledges in flight to commit, and a pledge that starts after the transition
/// reads the new status. Advisory locks live in the lock manager only: thousands of concurrent
/// pledges to one mission share the gate without writing the mission row (a `FOR SHARE` row
/// lock would rewrite the row's lockers on every pledge). On SQLite the single writer already
/// serialises everything, and this is a no-op.
pub(crate) async fn gate<C: ConnectionTrait>(
    txn: &C,
    mission_id: &str,
    exclusive: bool,
) -> Result<(), LedgerError> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let sql = if exclusive {
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text AS locked"
    } else {
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))::text AS locked"
    };
    txn.query_one_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        [gate_key(mission_id).into()],
    ))
    .await?;
    Ok(())
}

fn gate_key(mission_id: &str) -> String {
    format!("mission:{mission_id}")
}

/// [`gate`] held shared on several missions with one statement (Postgres), in the order given:
/// callers pass them sorted, so two batches never wait on each other in a cycle.
pub(crate) async fn gate_shared_many<C: ConnectionTrait>(
    txn: &C,
    mission_ids: &[&str],
) -> Result<(), LedgerError> {
    if txn.get_database_backend() != DatabaseBackend::Postgres || mission_ids.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = mission_ids.iter().map(|id| gate_key(id)).collect();
    txn.query_all_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        // A function scan yields (and locks) the keys in array order.
        "SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0))::text AS locked \
         FROM jsonb_array_elements_text($1::jsonb) AS g(k)",
        [serde_json::Value::from(keys).to_string().into()],
    ))
    .await?;
    Ok(())
}

/// The mission, behind its gate held shared until the transaction ends.
pub(crate) async fn lock_shared(
    txn: &DatabaseTransaction,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    gate(txn, mission_id, false).await?;
    mission::Entity::find_by_id(mission_id.to_owned())
        .one(txn)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such mission".into()))
}

/// Inserts a HELD pledge and moves its amount from the backer's wallet into the escrow.
async fn hold(
    txn: &DatabaseTransaction,
    m: &mission::Model,
    backer_id: &str,
    amount: Amount,
    now: DateTime<Utc>,
) -> Result<pledge::Model, LedgerError> {
    let p = new_pledge(&m.id, backer_id, amount, now);
    pledge::Entity::insert(pledge::ActiveModel::from(p.clone()))
        .exec_without_returning(txn)
        .await?;
    transfer::apply(txn, &hold_transfer(&p, amount)).await?;
    Ok(p)
}

/// The mission, or `NotFound`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    mission::Entity::find_by_id(mission_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such mission".into()))
}

/// A streamer's transition of their own mission.
#[derive(Clone, Debug)]
pub enum StreamerAction {
    Accept,
    Reject { reason: Option<String> },
    Decide(Outcome),
}

/// Longest rejection reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Applies the streamer's action: only the mission's streamer may; only from the right status.
/// Returns the mission after the change.
#[tracing::instrument(name = "db.streamer_action", skip_all)]
pub async fn act(
    db: &DatabaseConnection,
    rules: &MissionRules,
    mission_id: &str,
    streamer_id: &str,
    action: &StreamerAction,
) -> Result<mission::Model, LedgerError> {
    let m = find(db, mission_id).await?;
    if m.streamer_id != streamer_id {
        return Err(LedgerError::Forbidden(
            "only the mission's streamer may do this".into(),
        ));
    }
    let now = Utc::now();
    let deadline = now + Duration::seconds(m.duration_seconds);
    let mut update = mission::Entity::update_many().filter(mission::Column::Id.eq(mission_id));
    let (from, to) = match action {
        StreamerAction::Accept => {
            update = update
                .col_expr(mission::Column::AcceptedAt, Expr::value(now))
                .col_expr(mission::Column::Deadline, Expr::value(deadline))
                .filter(mission::Column::AcceptBy.gt(now));
            (MissionStatus::Pending, MissionStatus::Active)
        }
        StreamerAction::Reject { reason } => {
            let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
                return Err(invalid(format!(
                    "reason must be at most {MAX_REASON_CHARS} characters"
                )));
            }
            update = update
                .col_expr(
                    mission::Column::RejectReason,
                    Expr::value(reason.map(str::to_owned)),
                )
                .col_expr(mission::Column::ClosedAt, Expr::value(now));
            (MissionStatus::Pending, MissionStatus::Rejected)
        }
        StreamerAction::Decide(outcome) => {
            update = update
                .col_expr(mission::Column::ClosedAt, Expr::value(now))
                .filter(mission::Column::Deadline.gt(now));
            let to = match outcome {
                Outcome::Success => MissionStatus::Succeeded,
                Outcome::Failure => MissionStatus::Failed,
            };
            (MissionStatus::Active, to)
        }
    };
    let txn = db.begin().await?;
    gate(&txn, mission_id, true).await?;
    let changed = update
        .col_expr(mission::Column::Status, Expr::value(to.as_str()))
        .filter(mission::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 1 && to == MissionStatus::Active {
        // Acceptance opens the prediction game on this mission.
        let lock_at = crate::prediction::lock_at(now, deadline, rules.prediction_window_seconds);
        crate::prediction::open(&txn, mission_id, lock_at, now).await?;
    }
    if changed.rows_affected == 1 {
        // The workflow must hear of it; the outbox keeps that promise if the API dies now.
        workflow_outbox::Entity::update_many()
            .col_expr(
                workflow_outbox::Column::PendingSignal,
                Expr::value(to.as_str()),
            )
            .col_expr(workflow_outbox::Column::SignalRequestedAt, Expr::value(now))
            .filter(workflow_outbox::Column::MissionId.eq(mission_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    let after = find(db, mission_id).await?;
    if changed.rows_affected == 1 {
        Ok(after)
    } else {
        Err(LedgerError::InvalidState(format!(
            "mission is {}, this needs it {from}{}",
            after.status,
            if from == MissionStatus::Pending {
                " within its accept window"
            } else {
                " before its deadline"
            }
        )))
    }
}

/// Expires the mission if it is still `from` (PENDING when the accept window passed, ACTIVE
/// when the deadline passed). The workflow's timer decides the moment. Returns the mission as
/// it is afterwards, expired or not (a streamer's action may have won the race).
#[tracing::instrument(name = "db.expire_mission", skip_all)]
pub async fn expire(
    db: &DatabaseConnection,
    mission_id: &str,
    from: MissionStatus,
) -> Result<mission::Model, LedgerError> {
    let txn = db.begin().await?;
    gate(&txn, mission_id, true).await?;
    mission::Entity::update_many()
        .col_expr(
            mission::Column::Status,
            Expr::value(MissionStatus::Expired.as_str()),
        )
        .col_expr(mission::Column::ClosedAt, Expr::value(Utc::now()))
        .filter(mission::Column::Id.eq(mission_id))
        .filter(mission::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    find(db, mission_id).await
}

/// Platform fee of one pledge: `floor(amount × bps ÷ 10,000)`.
pub fn fee_of(amount: Amount, fee_bps: u32) -> Result<i64, LedgerError> {
    let fee = i128::from(amount.get()) * i128::from(fee_bps) / 10_000;
    i64::try_from(fee).map_err(|_| LedgerError::InvalidAmount("fee overflows".into()))
}

/// What one settlement page did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledPage {
    pub pledges: u64,
    pub amount_won: i64,
    /// The page's last pledge: the next page starts after it.
    pub last_pledge_id: Option<String>,
}

/// Settles up to `page_size` HELD pledges of a closed mission in one transaction: on SUCCEEDED
/// each pledge goes to the streamer's earnings less its fee (to the platform fee account);
/// otherwise back to its backer. Each movement's id names the mission, the step and the pledge,
/// and each pledge leaves HELD in the same transaction, so a retried or concurrent page can
/// neither pay twice nor skip one. Returns what this page settled; zero pledges means done.
///
/// `after` (the previous page's last pledge) starts the scan past the pledges this caller
/// already settled, so page after page does not wade through their superseded index entries.
/// A pledge skipped because another settler held it is still caught: settling ends only when
/// [`mark_settled`] finds none HELD, and a retry starts from the beginning.
#[tracing::instrument(name = "db.settle_page", skip_all)]
pub async fn settle_page(
    db: &DatabaseConnection,
    mission_id: &str,
    after: Option<&str>,
    page_size: u64,
    fee_bps: u32,
) -> Result<SettledPage, LedgerError> {
    let txn = db.begin().await?;
    let m = find(&txn, mission_id).await?;
    let status = MissionStatus::parse(&m.status)?;
    if !status.is_closed() {
        return Err(LedgerError::InvalidState(format!(
            "mission {mission_id} is {status}; only a closed mission is settled"
        )));
    }
    let mut query = pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(mission_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Held.as_str()))
        .order_by_asc(pledge::Column::Id)
        .limit(page_size);
    if let Some(after) = after {
        query = query.filter(pledge::Column::Id.gt(after));
    }
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Two workers settling the same mission (a retry racing a slow first attempt) take
        // different pledges instead of waiting on each other.
        query = query.lock_with_behavior(
            LockType::Update,
            sea_orm::sea_query::LockBehavior::SkipLocked,
        );
    }
    let held = query.all(&txn).await?;
    let now = Utc::now();
    let escrow = AccountId::escrow(mission_id);
    let (to_status, mut page) = (
        if status == MissionStatus::Succeeded {
            PledgeStatus::Paid
        } else {
            PledgeStatus::Refunded
        },
        SettledPage::default(),
    );
    // The page's movements, applied together: one multi-row insert and one balance update per
    // credited account, instead of a round trip per pledge.
    let mut transfers = Vec::with_capacity(held.len() * 2);
    for p in &held {
        let amount = Amount::new(p.amount)?;
        if to_status == PledgeStatus::Paid {
            let fee = fee_of(amount, fee_bps)?;
            if p.amount > fee {
                transfers.push(Transfer {
                    id: format!("payout:{mission_id}:{}", p.id),
                    debit: escrow.clone(),
                    credit: AccountId::earnings(&m.streamer_id),
                    amount: Amount::new(p.amount - fee)?,
                    kind: "PAYOUT",
                });
            }
            if fee > 0 {
                transfers.push(Transfer {
                    id: format!("fee:{mission_id}:{}", p.id),
                    debit: escrow.clone(),
                    credit: AccountId::platform_fee(),
                    amount: Amount::new(fee)?,
                    kind: "FEE",
                });
            }
        } else {
            transfers.push(Transfer {
                id: format!("refund:{mission_id}:{}", p.id),
                debit: escrow.clone(),
                credit: AccountId::wallet(Currency::Cash, &p.backer_id),
                amount,
                kind: "REFUND",
            });
        }
        page.pledges += 1;
        page.amount_won = page
            .amount_won
            .checked_add(p.amount)
            .ok_or_else(|| LedgerError::InvalidAmount("settled amount overflows".into()))?;
    }
    transfer::apply_new_batch(&txn, &transfers).await?;
    page.last_pledge_id = held.last().map(|p| p.id.clone());
    if !held.is_empty() {
        let ids: Vec<String> = held.iter().map(|p| p.id.clone()).collect();
        let flipped = pledge::Entity::update_many()
            .col_expr(pledge::Column::Status, Expr::value(to_status.as_str()))
            .col_expr(pledge::Column::SettledAt, Expr::value(now))
            .filter(pledge::Column::Id.is_in(ids))
            .filter(pledge::Column::Status.eq(PledgeStatus::Held.as_str()))
            .exec(&txn)
            .await?;
        if flipped.rows_affected != page.pledges {
            // Someone else settled part of this page between our read and write: roll back
            // and let the caller retry; the transfer ids make the retry exact.
            return Err(LedgerError::Corrupt(format!(
                "settling mission {mission_id}: {} of {} pledges changed under us",
                page.pledges - flipped.rows_affected,
                page.pledges
            )));
        }
    }
    txn.commit().await?;
    Ok(page)
}

/// Marks the mission settled once no pledge is HELD. Returns the mission; `settled_at` stays
/// unset if a pledge is still held.
#[tracing::instrument(name = "db.mark_settled", skip_all)]
pub async fn mark_settled(
    db: &DatabaseConnection,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    let still_held = pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(mission_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Held.as_str()))
        .limit(1)
        .all(db)
        .await?;
    if still_held.is_empty() {
        mission::Entity::update_many()
            .col_expr(mission::Column::SettledAt, Expr::value(Utc::now()))
            .filter(mission::Column::Id.eq(mission_id))
            .filter(mission::Column::SettledAt.is_null())
            .exec(db)
            .await?;
    }
    find(db, mission_id).await
}

/// Marks the mission's emails as all sent.
pub async fn mark_notified(db: &DatabaseConnection, mission_id: &str) -> Result<(), LedgerError> {
    mission::Entity::update_many()
        .col_expr(mission::Column::NotifiedAt, Expr::value(Utc::now()))
        .filter(mission::Column::Id.eq(mission_id))
        .filter(mission::Column::NotifiedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Where a settled mission's escrow went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult, Serialize, Deserialize)]
pub struct Outflows {
    pub paid_won: i64,
    pub fee_won: i64,
    pub refunded_won: i64,
}

/// Sums the transfers out of the mission's escrow, by kind.
pub async fn outflows<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
) -> Result<Outflows, LedgerError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN kind = 'PAYOUT' THEN amount ELSE 0 END), 0) AS BIGINT) AS paid_won, \
           CAST(COALESCE(SUM(CASE WHEN kind = 'FEE' THEN amount ELSE 0 END), 0) AS BIGINT) AS fee_won, \
           CAST(COALESCE(SUM(CASE WHEN kind = 'REFUND' THEN amount ELSE 0 END), 0) AS BIGINT) AS refunded_won \
         FROM transfers WHERE debit_account_id = {}",
        crate::param(backend, 1)
    );
    let escrow = AccountId::escrow(mission_id);
    Ok(Outflows::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [escrow.as_str().into()],
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}

/// `totalPledged` and `backerCount` of a mission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromQueryResult)]
pub struct Totals {
    pub total_won: i64,
    pub backers: i64,
}

/// Sums the mission's pledges (every status: a settled mission still shows what was pledged).
pub async fn totals<C: ConnectionTrait>(db: &C, mission_id: &str) -> Result<Totals, LedgerError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total_won, \
         CAST(COUNT(DISTINCT backer_id) AS BIGINT) AS backers FROM pledges WHERE mission_id = {}",
        crate::param(backend, 1)
    );
    Ok(Totals::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [mission_id.into()],
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}

/// One backer's pledges to a mission, summed (for their email).
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult, Serialize, Deserialize)]
pub struct BackerTotal {
    pub backer_id: String,
    pub total_won: i64,
}

/// Backers of the mission ordered by id, after `after` (exclusive), at most `limit`.
pub async fn backers_page<C: ConnectionTrait>(
    db: &C,
    mission_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<BackerTotal>, LedgerError> {
    let backend = db.get_database_backend();
    let p = |i: usize| crate::param(backend, i);
    let sql = format!(
        "SELECT backer_id, CAST(SUM(amount) AS BIGINT) AS total_won FROM pledges \
         WHERE mission_id = {} AND backer_id > {} GROUP BY backer_id ORDER BY backer_id LIMIT {}",
        p(1),
        p(2),
        p(3)
    );
    let limit = i64::try_from(limit).map_err(|_| invalid("page size too large"))?;
    Ok(
        BackerTotal::find_by_statement(Statement::from_sql_and_values(
            backend,
            &sql,
            [mission_id.into(), after.unwrap_or("").into(), limit.into()],
        ))
        .all(db)
        .await?,
    )
}

fn encode<T: Serialize>(value: &T) -> Result<String, LedgerError> {
    serde_json::to_string(value).map_err(|e| LedgerError::Corrupt(format!("encode response: {e}")))
}

fn decode<T: for<'de> Deserialize<'de>>(raw: &str) -> Result<T, LedgerError> {
    serde_json::from_str(raw).map_err(|e| LedgerError::Corrupt(format!("stored response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_floored_per_pledge() {
        let a = |v| Amount::new(v).expect("amount");
        assert_eq!(fee_of(a(1_000), 250).expect("fee"), 25);
        assert_eq!(fee_of(a(1_039), 250).expect("fee"), 25);
        assert_eq!(fee_of(a(3_000_000), 0).expect("fee"), 0);
        assert_eq!(fee_of(a(1_000), 10_000).expect("fee"), 1_000);
    }
}
