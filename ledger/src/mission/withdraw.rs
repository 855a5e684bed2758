//! Backers who change their mind (issue 28, item 3): while a mission is PENDING a backer may
//! withdraw a pledge (its won back at once) and the creator may withdraw the whole mission
//! (every backer refunded by the settlement that follows).
//!
//! Both hold the mission's gate exclusive, as the streamer's acceptance does, so a withdrawal
//! racing the acceptance either commits first (the pledge is back in the wallet and the
//! acceptance takes the mission without it) or sees the mission ACTIVE and changes nothing:
//! never both. A pledge leaves HELD in the transaction that moves its won
//! (`withdraw:<mission>:<pledge>`), so it can neither be withdrawn twice nor also be settled.

use super::read::find;
use super::transition::{announce, request_signal};
use crate::events::{self, NewEvent};
use crate::gate::gate_exclusive;
use crate::idempotency::{
    self, Claim, Effect, IdempotencyKey, decode_response, encode_response, request_hash,
};
use crate::reconcile::receivable;
use crate::rules::MissionRules;
use crate::status::{EventKind, MissionKind, MissionStatus, PledgeStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, changes};
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::missions::{mission, mission_total, pledge};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// The idempotency operation name of a pledge's withdrawal.
const WITHDRAW_PLEDGE: &str = "withdrawPledge";
/// The idempotency operation name of a mission's withdrawal.
const WITHDRAW_MISSION: &str = "withdrawMission";
/// The window `PLEDGE_WITHDRAWALS_PER_DAY` counts over.
const WITHDRAWAL_WINDOW_HOURS: i64 = 24;
/// How many times a withdrawal starts over while a pledge batch holds the backer's wallet
/// (waiting 5 ms, doubling to 200 ms: about 7 s in all) before it answers `BUSY`.
const WALLET_TRIES: u32 = 40;

/// What a withdrawal answered: the thing withdrawn, by id (read again by the caller).
#[derive(Serialize, Deserialize)]
struct Withdrawn {
    id: String,
}

/// A pledge's withdrawal as it committed: the pledge after it, and whether it was the mission's
/// last held pledge (the mission is WITHDRAWN then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PledgeWithdrawn {
    pub pledge: pledge::Model,
    pub mission_closed: bool,
}

fn refused(code: &'static str, message: String, retry_at: Option<DateTime<Utc>>) -> LedgerError {
    LedgerError::Refused {
        code,
        message,
        retry_at,
    }
}

/// `backer_id` withdraws their pledge `pledge_id` while its mission is PENDING: the pledge
/// becomes WITHDRAWN and its won go back to their cash at once (paying what they owe first, as
/// every refund does). When it was the mission's last held pledge the mission is WITHDRAWN too.
/// Refused with `NOT_FOUND` (no such pledge of theirs), `INVALID_STATE` (the mission or the
/// pledge is past that), `WITHDRAWAL_LIMIT` (`PLEDGE_WITHDRAWALS_PER_DAY`, with when the next
/// is allowed), or `BUSY` (a pledge batch kept the backer's wallet for seconds). A replay of
/// `key` answers the pledge again.
#[tracing::instrument(name = "db.withdraw_pledge", skip_all)]
pub async fn withdraw_pledge(
    db: &DatabaseConnection,
    rules: &MissionRules,
    pledge_id: &str,
    backer_id: &str,
    key: &IdempotencyKey,
) -> Result<Effect<PledgeWithdrawn>, LedgerError> {
    let mut pause = std::time::Duration::from_millis(5);
    for _ in 0..WALLET_TRIES {
        match attempt(db, rules, pledge_id, backer_id, key).await {
            // A pledge batch held the backer's wallet: it commits in milliseconds.
            Err(LedgerError::Contended(_)) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            done => return done,
        }
    }
    Err(refused(
        "BUSY",
        "another payment of yours is being committed; try again".into(),
        Some(Utc::now() + Duration::seconds(1)),
    ))
}

/// One try of [`withdraw_pledge`], in one transaction.
async fn attempt(
    db: &DatabaseConnection,
    rules: &MissionRules,
    pledge_id: &str,
    backer_id: &str,
    key: &IdempotencyKey,
) -> Result<Effect<PledgeWithdrawn>, LedgerError> {
    let hash = request_hash(WITHDRAW_PLEDGE, &serde_json::json!([pledge_id]).to_string());
    let txn = db.begin().await?;
    if let Claim::Replay(raw) =
        idempotency::claim(&txn, backer_id, key, WITHDRAW_PLEDGE, &hash).await?
    {
        txn.commit().await?;
        let first: Withdrawn = decode_response(&raw)?;
        let pledge = own_pledge(db, &first.id, backer_id).await?;
        let m = find(db, &pledge.mission_id).await?;
        return Ok(Effect::Replayed(PledgeWithdrawn {
            pledge,
            mission_closed: m.status == MissionStatus::Withdrawn,
        }));
    }
    match take_back(&txn, rules, pledge_id, backer_id).await {
        Ok((mission_id, mission_closed)) => {
            let response = encode_response(&Withdrawn {
                id: pledge_id.to_owned(),
            })?;
            idempotency::complete(&txn, backer_id, key, &response).await?;
            changes::commit(txn, [mission_id.as_str()]).await?;
            Ok(Effect::New(PledgeWithdrawn {
                pledge: own_pledge(db, pledge_id, backer_id).await?,
                mission_closed,
            }))
        }
        Err(refused) => {
            // Nothing stays, not even the key: the backer may try again with it.
            txn.rollback().await?;
            Err(refused)
        }
    }
}

/// Takes the backer's wallet row for this transaction, which holds the mission's gate, without
/// waiting for it: a pledge batch holding that wallet may be waiting for this very gate (a batch
/// takes its gates round by round, with wallets of earlier rounds held), and waiting here would
/// deadlock. A busy wallet is `Contended`: the withdrawal starts over once the batch committed.
async fn take_wallet<C: ConnectionTrait>(txn: &C, backer_id: &str) -> Result<(), LedgerError> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        // SQLite has one writer at a time: nobody else holds it.
        receivable::lock_wallet(txn, backer_id).await?;
        return Ok(());
    }
    let wallet = AccountId::wallet(Currency::Cash, backer_id);
    let taken = txn
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT id FROM accounts WHERE id = $1 FOR UPDATE SKIP LOCKED",
            [wallet.as_str().into()],
        ))
        .await?;
    match taken {
        Some(_) => Ok(()),
        None => Err(LedgerError::Contended(format!(
            "the wallet of {backer_id} is held by another transaction"
        ))),
    }
}

/// The pledge, if it is `backer_id`'s; anyone else's is as good as absent.
async fn own_pledge<C: ConnectionTrait>(
    db: &C,
    pledge_id: &str,
    backer_id: &str,
) -> Result<pledge::Model, LedgerError> {
    pledge::Entity::find_by_id(pledge_id.to_owned())
        .one(db)
        .await?
        .filter(|p| p.backer_id == backer_id)
        .ok_or_else(|| LedgerError::NotFound("no such pledge of yours".into()))
}

/// The withdrawal's checks and writes, behind the mission's gate. Answers the mission and
/// whether the mission closed with it.
async fn take_back<C: ConnectionTrait>(
    txn: &C,
    rules: &MissionRules,
    pledge_id: &str,
    backer_id: &str,
) -> Result<(String, bool), LedgerError> {
    let mission_id = own_pledge(txn, pledge_id, backer_id).await?.mission_id;
    gate_exclusive(txn, &mission_id).await?;
    // Read again behind the gate: no transition or settlement of this mission runs now.
    let m = find(txn, &mission_id).await?;
    if !matches!(m.status, MissionStatus::Pending | MissionStatus::Funding) {
        return Err(LedgerError::InvalidState(format!(
            "mission is {}; a pledge can be withdrawn only while its mission is PENDING or \
             FUNDING",
            m.status
        )));
    }
    let p = own_pledge(txn, pledge_id, backer_id).await?;
    if p.status != PledgeStatus::Held {
        return Err(LedgerError::InvalidState(format!(
            "pledge is {}; only a held pledge can be withdrawn",
            p.status
        )));
    }
    // The wallet's row orders this backer's withdrawals, so two racing on two missions cannot
    // both pass the limit.
    take_wallet(txn, backer_id).await?;
    let now = Utc::now();
    within_daily_limit(txn, rules, backer_id, now).await?;
    let changed = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Withdrawn))
        .col_expr(pledge::Column::SettledAt, Expr::value(now))
        .filter(pledge::Column::Id.eq(pledge_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Held))
        .exec(txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(LedgerError::Corrupt(format!(
            "pledge {pledge_id} left HELD behind its mission's gate"
        )));
    }
    let back = Transfer {
        id: format!("withdraw:{mission_id}:{pledge_id}"),
        debit: AccountId::escrow(&mission_id),
        credit: AccountId::wallet(Currency::Cash, backer_id),
        amount: Amount::new(p.amount)?,
        kind: TransferKind::PledgeWithdrawal,
    };
    transfer::apply(txn, &back).await?;
    receivable::repay(
        txn,
        &[receivable::Credited {
            user_id: backer_id,
            amount: p.amount,
            transfer_id: &back.id,
        }],
    )
    .await?;
    // A backer with no other pledge left in the mission no longer counts among its backers
    // (`backerCount`): behind the gate, no batch adds one meanwhile.
    let still_in = pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(&mission_id))
        .filter(pledge::Column::BackerId.eq(backer_id))
        .filter(pledge::Column::Status.ne(PledgeStatus::Withdrawn))
        .limit(1)
        .count(txn)
        .await?;
    if still_in == 0 {
        use sea_orm::sea_query::ExprTrait as _;
        mission_total::Entity::update_many()
            .col_expr(
                mission_total::Column::Backers,
                Expr::col(mission_total::Column::Backers).sub(1),
            )
            .filter(mission_total::Column::MissionId.eq(&mission_id))
            .exec(txn)
            .await?;
    }
    let still_held = pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(&mission_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Held))
        .limit(1)
        .count(txn)
        .await?;
    events::append(
        txn,
        &[NewEvent {
            mission_id: Some(&mission_id),
            prediction_id: None,
            streamer_id: Some(&m.streamer_id),
            kind: EventKind::PledgeWithdrawn,
            pledge_id: Some(pledge_id),
            tier: None,
            test_payload: None,
        }],
    )
    .await?;
    // Nothing is left to carry a proposal: it ends as if its creator had withdrawn it. A goal
    // is the streamer's and waits for new backers until its funding ends.
    let closed = still_held == 0 && m.kind == MissionKind::Proposal;
    if closed {
        close(txn, &m, now).await?;
    }
    Ok((mission_id, closed))
}

/// Refuses a withdrawal past `PLEDGE_WITHDRAWALS_PER_DAY` in the last 24 hours, saying when
/// the oldest of them leaves the window.
async fn within_daily_limit<C: ConnectionTrait>(
    txn: &C,
    rules: &MissionRules,
    backer_id: &str,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let window = Duration::hours(WITHDRAWAL_WINDOW_HOURS);
    let limit = u64::from(rules.pledge_withdrawals_per_day);
    let recent: Vec<Option<DateTime<Utc>>> = pledge::Entity::find()
        .select_only()
        .column(pledge::Column::SettledAt)
        .filter(pledge::Column::BackerId.eq(backer_id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Withdrawn))
        .filter(pledge::Column::SettledAt.gt(now - window))
        .order_by_desc(pledge::Column::SettledAt)
        .limit(limit)
        .into_tuple()
        .all(txn)
        .await?;
    if u64::try_from(recent.len()).is_ok_and(|n| n < limit) {
        return Ok(());
    }
    // The limit-th newest leaves the window first among those that keep it full.
    let retry_at = recent.last().copied().flatten().map(|at| at + window);
    Err(refused(
        "WITHDRAWAL_LIMIT",
        format!("at most {limit} pledges may be withdrawn within {WITHDRAWAL_WINDOW_HOURS} hours"),
        retry_at,
    ))
}

/// The mission (PENDING, or a goal still FUNDING) becomes WITHDRAWN: closed, its workflow told (it settles what is held, as a
/// refund, and emails the backers), its feed told.
async fn close<C: ConnectionTrait>(
    txn: &C,
    m: &mission::Model,
    now: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    let changed = mission::Entity::update_many()
        .col_expr(
            mission::Column::Status,
            Expr::value(MissionStatus::Withdrawn),
        )
        .col_expr(mission::Column::ClosedAt, Expr::value(now))
        .filter(mission::Column::Id.eq(&m.id))
        .filter(mission::Column::Status.is_in([MissionStatus::Pending, MissionStatus::Funding]))
        .exec(txn)
        .await?;
    if changed.rows_affected != 1 {
        return Ok(false);
    }
    request_signal(txn, &m.id, MissionStatus::Withdrawn, None, now).await?;
    announce(txn, &m.id, &m.streamer_id, MissionStatus::Withdrawn).await?;
    Ok(true)
}

/// The creator withdraws `mission_id` while it is PENDING (a streamer their goal while it is
/// FUNDING): it becomes WITHDRAWN, a final
/// status, and its settlement refunds every backer and emails them. A withdrawal is not a
/// rejection: it starts no proposal cooldown. Refused with `FORBIDDEN` (not the creator) or
/// `INVALID_STATE` (no longer PENDING). A replay of `key` answers the mission again.
#[tracing::instrument(name = "db.withdraw_mission", skip_all)]
pub async fn withdraw_mission(
    db: &DatabaseConnection,
    mission_id: &str,
    creator_id: &str,
    key: &IdempotencyKey,
) -> Result<Effect<mission::Model>, LedgerError> {
    let hash = request_hash(
        WITHDRAW_MISSION,
        &serde_json::json!([mission_id]).to_string(),
    );
    let txn = db.begin().await?;
    if let Claim::Replay(raw) =
        idempotency::claim(&txn, creator_id, key, WITHDRAW_MISSION, &hash).await?
    {
        txn.commit().await?;
        let first: Withdrawn = decode_response(&raw)?;
        return Ok(Effect::Replayed(find(db, &first.id).await?));
    }
    let closed = async {
        gate_exclusive(&txn, mission_id).await?;
        let m = find(&txn, mission_id).await?;
        if m.creator_id != creator_id {
            return Err(LedgerError::Forbidden(
                "only the mission's creator may withdraw it".into(),
            ));
        }
        if !close(&txn, &m, Utc::now()).await? {
            return Err(LedgerError::InvalidState(format!(
                "mission is {}; it can be withdrawn only while PENDING (a goal while FUNDING)",
                m.status
            )));
        }
        Ok(())
    }
    .await;
    if let Err(refused) = closed {
        txn.rollback().await?;
        return Err(refused);
    }
    let response = encode_response(&Withdrawn {
        id: mission_id.to_owned(),
    })?;
    idempotency::complete(&txn, creator_id, key, &response).await?;
    changes::commit(txn, [mission_id]).await?;
    Ok(Effect::New(find(db, mission_id).await?))
}
