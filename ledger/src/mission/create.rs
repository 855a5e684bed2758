//! A new mission: the row, its escrow, the creator's first pledge and the outbox record that
//! starts its workflow, in one transaction.

use super::read::find;
use crate::batch::pledge::{PledgeNote, hold};
use crate::channel::check_proposal;
use crate::channel::proposal::Proposal;
use crate::events::{self, NewEvent};
use crate::idempotency::{self, Claim, Effect, IdempotencyKey, decode_response, encode_response};
use crate::rules::{MissionRules, NewMission};
use crate::status::{EventKind, MissionKind, MissionStatus};
use crate::{AccountId, LedgerError, account, changes};
use chrono::{Duration, Utc};
use missionlink_entities::missions::{mission, workflow_outbox};
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// The idempotency operation name of a mission's creation.
const CREATE_MISSION: &str = "createMission";

/// What a creation's idempotency key answers: the mission it created.
#[derive(Serialize, Deserialize)]
struct CreatedResponse {
    mission_id: String,
}

/// A creation's idempotency claim (`operation` by `user_id` with `key`, fingerprint `hash`).
pub(super) enum Claimed {
    /// The key is ours: create in this transaction, then [`complete_creation`].
    Fresh(DatabaseTransaction),
    /// The same request created this mission before (boxed: the rare case).
    Replayed(Box<mission::Model>),
}

/// Opens a creation's transaction with its idempotency claim, or answers the mission an
/// earlier request with the same key created.
pub(super) async fn claim_creation(
    db: &DatabaseConnection,
    user_id: &str,
    key: &IdempotencyKey,
    operation: &str,
    hash: &str,
) -> Result<Claimed, LedgerError> {
    let txn = db.begin().await?;
    match idempotency::claim(&txn, user_id, key, operation, hash).await? {
        Claim::Fresh => Ok(Claimed::Fresh(txn)),
        Claim::Replay(response) => {
            txn.rollback().await?;
            let r: CreatedResponse = decode_response(&response)?;
            Ok(Claimed::Replayed(Box::new(find(db, &r.mission_id).await?)))
        }
    }
}

/// Stores mission `mission_id` as the answer to the creation's key, in its transaction.
pub(super) async fn complete_creation<C: sea_orm::ConnectionTrait>(
    txn: &C,
    user_id: &str,
    key: &IdempotencyKey,
    mission_id: &str,
) -> Result<(), LedgerError> {
    let response = encode_response(&CreatedResponse {
        mission_id: mission_id.to_owned(),
    })?;
    idempotency::complete(txn, user_id, key, &response).await
}

/// Records the intent to start mission `id`'s workflow (`workflow_outbox`), in the transaction
/// that creates the mission.
pub(super) async fn outbox_start<C: sea_orm::ConnectionTrait>(
    txn: &C,
    id: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), LedgerError> {
    workflow_outbox::Entity::insert(workflow_outbox::ActiveModel {
        mission_id: Set(id.to_owned()),
        created_at: Set(now),
        started_at: Set(None),
        pending_signal: Set(None),
        signal_requested_at: Set(None),
        pending_action: Set(None),
        attempts: Set(0),
        last_error: Set(None),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Creates a mission with the creator's first pledge held in its escrow and a "start workflow"
/// outbox record, in one transaction. Idempotent per `(creator, key)`: a replay answers the
/// mission it created.
#[tracing::instrument(name = "db.create_mission", skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    rules: &MissionRules,
    new: &NewMission,
    key: &IdempotencyKey,
) -> Result<Effect<mission::Model>, LedgerError> {
    let valid = new.validate(rules)?;
    let canonical = serde_json::json!([
        new.streamer_id,
        valid.title,
        valid.description,
        valid.amount.get(),
        new.duration_seconds,
        valid.accept_seconds
    ]);
    // A message is part of the request (the fingerprint of one without is what it always was).
    let canonical = match &valid.message {
        None => canonical,
        Some(message) => serde_json::json!([canonical, message]),
    }
    .to_string();
    let hash = idempotency::request_hash(CREATE_MISSION, &canonical);
    let txn = match claim_creation(db, &new.creator_id, key, CREATE_MISSION, &hash).await? {
        Claimed::Fresh(txn) => txn,
        Claimed::Replayed(m) => return Ok(Effect::Replayed(*m)),
    };
    let now = Utc::now();
    let texts: Vec<&str> = [
        Some(valid.title.as_str()),
        valid.description.as_deref(),
        valid.message.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let proposal = Proposal {
        creator_id: &new.creator_id,
        streamer_id: &new.streamer_id,
        amount_won: valid.amount.get(),
        duration_seconds: new.duration_seconds,
        texts: &texts,
    };
    let settings = match check_proposal(&txn, rules.proposals, &proposal, now).await {
        Ok(settings) => settings,
        Err(refusal) => {
            // The claim goes with the rollback: the same key may be sent again once allowed.
            txn.rollback().await?;
            return Err(refusal);
        }
    };
    let note = PledgeNote::new(valid.message.clone(), false, settings.manual_approval);
    let id = uuid::Uuid::now_v7().to_string();
    let row = mission::Model {
        id: id.clone(),
        streamer_id: new.streamer_id.clone(),
        creator_id: new.creator_id.clone(),
        title: valid.title,
        description: valid.description,
        status: MissionStatus::Pending,
        duration_seconds: new.duration_seconds,
        accept_by: now + Duration::seconds(valid.accept_seconds),
        accepted_at: None,
        deadline: None,
        closed_at: None,
        reject_reason: None,
        settled_at: None,
        notified_at: None,
        created_at: now,
        objection_until: None,
        disputed_at: None,
        evidence_url: None,
        verdict_note: None,
        kind: MissionKind::Proposal,
        goal_won: None,
        tier_reached: None,
        tier_held_won: None,
        tier_refund_won: None,
        tier_extra_through: None,
    };
    mission::Entity::insert(mission::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    account::open(&txn, &[AccountId::escrow(&id)]).await?;
    let (first, _) = hold(&txn, &row, &new.creator_id, valid.amount, &note, now).await?;
    crate::mission::add_to_totals(&txn, &row.id, valid.amount.get(), 1).await?;
    // BRIEF §6: the intent to start the workflow commits with the money it will settle.
    outbox_start(&txn, &id, now).await?;
    complete_creation(&txn, &new.creator_id, key, &id).await?;
    events::append(
        &txn,
        &[NewEvent::of_pledge(&row, EventKind::Created, &first.id)],
    )
    .await?;
    // Behind the streamer's feed row, which a suspension's sweep takes before it lists the
    // streamer's open missions: this mission is either listed by it, or refused here.
    if crate::operator::is_suspended(&txn, &new.streamer_id, now).await? {
        txn.rollback().await?;
        return Err(LedgerError::Refused {
            code: "STREAMER_SUSPENDED",
            message: "this streamer is suspended and takes no missions".into(),
            retry_at: None,
        });
    }
    changes::commit(txn, [row.id.as_str()]).await?;
    Ok(Effect::New(row))
}
