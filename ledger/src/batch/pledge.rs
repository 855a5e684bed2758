//! One pledge: its checks, its rows and its idempotency answer. The batcher's two paths use
//! these, pledge by pledge ([`super::each`]) or set-based ([`super::set`]), and a mission's
//! creation holds its first pledge with [`hold`].

use crate::gate::lock_shared;
use crate::idempotency::{self, Claim, Effect, IdempotencyKey, decode_response, encode_response};
use crate::rules::MissionRules;
use crate::status::{MessageStatus, MissionStatus, PledgeStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{mission, pledge};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, SelectExt,
};
use serde::{Deserialize, Serialize};

/// One `contribute` call.
#[derive(Clone, Debug)]
pub struct PledgeRequest {
    pub mission_id: String,
    pub backer_id: String,
    pub amount_won: i64,
    pub key: IdempotencyKey,
    pub note: PledgeNote,
}

/// What a backer says with a pledge, and how it shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PledgeNote {
    /// Checked by [`crate::rules::pledge_message`] and the channel's banned words.
    pub message: Option<String>,
    /// Set exactly when there is a message: APPROVED, or PENDING in a channel that approves
    /// messages by hand.
    pub message_status: Option<MessageStatus>,
    pub anonymous: bool,
}

impl PledgeNote {
    /// A note for `message` in a channel with manual approval on or off.
    pub fn new(message: Option<String>, anonymous: bool, manual_approval: bool) -> Self {
        let message_status = message.as_ref().map(|_| {
            if manual_approval {
                MessageStatus::Pending
            } else {
                MessageStatus::Approved
            }
        });
        Self {
            message,
            message_status,
            anonymous,
        }
    }
}

/// What a pledge request gets: the pledge (new or replayed) or why it was refused.
pub type Answer = Result<Effect<pledge::Model>, LedgerError>;

/// The idempotency operation name of a pledge.
pub(crate) const CONTRIBUTE: &str = "contribute";

#[derive(Serialize, Deserialize)]
struct PledgedResponse {
    pledge_id: String,
}

/// One pledge inside the caller's transaction (or savepoint). Writes nothing when it fails; on
/// a replay it writes nothing and returns the first pledge.
///
/// Also says whether a new pledge is its backer's first to the mission (false for a replay).
///
/// Race with a closing transition: on Postgres the pledge holds the mission's gate shared
/// before checking its status, and every transition takes it exclusive, so a transition waits
/// for in-flight pledges to commit and later pledges see the new status. On SQLite the
/// idempotency claim is the transaction's first write, which serialises it with every other
/// writer. Either way a pledge is committed before the mission closes or refused.
pub(crate) async fn pledge_in(
    txn: &DatabaseTransaction,
    rules: &MissionRules,
    job: &PledgeRequest,
) -> Result<(Effect<pledge::Model>, bool), LedgerError> {
    let (mission_id, backer_id, key) = (job.mission_id.as_str(), job.backer_id.as_str(), &job.key);
    let (amount, hash) = pledge_request(rules, job)?;
    if let Claim::Replay(response) =
        idempotency::claim(txn, backer_id, key, CONTRIBUTE, &hash).await?
    {
        return Ok((
            Effect::Replayed(replayed_pledge(txn, &response).await?),
            false,
        ));
    }
    let m = lock_shared(txn, mission_id).await?;
    let now = Utc::now();
    ensure_pledgeable(&m, backer_id, now)?;
    let (p, first) = hold(txn, &m, backer_id, amount, &job.note, now).await?;
    idempotency::complete(txn, backer_id, key, &pledged_response(&p.id)?).await?;
    Ok((Effect::New(p), first))
}

/// A pledge request checked against the rules: its amount and its idempotency fingerprint.
pub(crate) fn pledge_request(
    rules: &MissionRules,
    job: &PledgeRequest,
) -> Result<(Amount, String), LedgerError> {
    let amount = Amount::within(job.amount_won, rules.pledge_min_won, rules.pledge_max_won)?;
    let plain = serde_json::json!([job.mission_id, amount.get()]);
    // A message or anonymity is part of the request (the fingerprint of a pledge without either
    // is what it always was).
    let canonical = match (&job.note.message, job.note.anonymous) {
        (None, false) => plain,
        (message, anonymous) => serde_json::json!([plain, message, anonymous]),
    };
    Ok((
        amount,
        idempotency::request_hash(CONTRIBUTE, &canonical.to_string()),
    ))
}

/// The stored answer of a pledge, for replays of its idempotency key.
pub(crate) fn pledged_response(pledge_id: &str) -> Result<String, LedgerError> {
    encode_response(&PledgedResponse {
        pledge_id: pledge_id.to_owned(),
    })
}

/// The pledge a stored answer names.
pub(crate) async fn replayed_pledge<C: ConnectionTrait>(
    db: &C,
    response: &str,
) -> Result<pledge::Model, LedgerError> {
    let r: PledgedResponse = decode_response(response)?;
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

/// Whether `m` takes pledges at `now`: PENDING within its accept window, a goal FUNDING before
/// its funding ends, or ACTIVE before its deadline.
fn ensure_open(m: &mission::Model, now: DateTime<Utc>) -> Result<(), LedgerError> {
    let open = match m.status {
        MissionStatus::Pending | MissionStatus::Funding => now < m.accept_by,
        MissionStatus::Active => m.deadline.is_some_and(|d| now < d),
        _ => false,
    };
    if open {
        Ok(())
    } else {
        Err(LedgerError::InvalidState(format!(
            "mission is {} and no longer takes pledges",
            m.status
        )))
    }
}

/// A new HELD pledge (not yet stored).
pub(crate) fn new_pledge(
    mission_id: &str,
    backer_id: &str,
    amount: Amount,
    note: &PledgeNote,
    now: DateTime<Utc>,
) -> pledge::Model {
    pledge::Model {
        id: uuid::Uuid::now_v7().to_string(),
        mission_id: mission_id.to_owned(),
        backer_id: backer_id.to_owned(),
        amount: amount.get(),
        status: PledgeStatus::Held,
        created_at: now,
        settled_at: None,
        message: note.message.clone(),
        message_status: note.message_status,
        anonymous: note.anonymous,
    }
}

/// The transfer that holds pledge `p` in its mission's escrow.
pub(crate) fn hold_transfer(p: &pledge::Model, amount: Amount) -> Transfer {
    Transfer {
        id: format!("pledge:{}:{}", p.mission_id, p.id),
        debit: AccountId::wallet(Currency::Cash, &p.backer_id),
        credit: AccountId::escrow(&p.mission_id),
        amount,
        kind: TransferKind::Pledge,
    }
}

/// Inserts a HELD pledge and moves its amount from the backer's wallet into the escrow; with
/// whether it is its backer's first pledge to the mission, for the caller to add to the
/// mission's totals (`mission::add_to_totals`) once it has all its pledges, in mission order.
pub(crate) async fn hold(
    txn: &DatabaseTransaction,
    m: &mission::Model,
    backer_id: &str,
    amount: Amount,
    note: &PledgeNote,
    now: DateTime<Utc>,
) -> Result<(pledge::Model, bool), LedgerError> {
    let p = new_pledge(&m.id, backer_id, amount, note, now);
    pledge::Entity::insert(pledge::ActiveModel::from(p.clone()))
        .exec_without_returning(txn)
        .await?;
    transfer::apply(txn, &hold_transfer(&p, amount)).await?;
    // Read after the wallet's row is locked (by the debit): a concurrent pledge of this backer
    // has committed by now, and this statement sees it.
    // A backer who withdrew every earlier pledge comes back in.
    let first = !pledge::Entity::find()
        .filter(pledge::Column::MissionId.eq(&m.id))
        .filter(pledge::Column::BackerId.eq(backer_id))
        .filter(pledge::Column::Id.ne(&p.id))
        .filter(pledge::Column::Status.ne(PledgeStatus::Withdrawn))
        .exists(txn)
        .await?;
    Ok((p, first))
}
