//! `requestPayout`: earnings into the payout's hold, in one transaction with the payout row and
//! the idempotency claim.

use super::transfer_ids;
use crate::idempotency::{self, Claim, Effect, IdempotencyKey};
use crate::status::{PayoutStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, LedgerError, account};
use chrono::Utc;
use missionlink_entities::missions::{payout, payout_account};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// The operation name of a payout request's idempotency claim.
const OPERATION: &str = "requestPayout";

/// The bounds of a payout request (`PAYOUT_MIN`, `PAYOUT_FEE_WON`, `PAYOUT_HOLD_SECONDS`).
#[derive(Clone, Copy, Debug)]
pub struct PayoutRules {
    /// Smallest amount a streamer may request, won.
    pub min_won: i64,
    /// Flat fee per payout, won, taken from the amount.
    pub fee_won: i64,
    /// How long a request waits (cancellable) before it goes to the bank.
    pub hold_seconds: i64,
}

/// What a request's claim stores: the payout it made.
#[derive(Serialize, Deserialize)]
struct Stored {
    payout_id: String,
}

/// Takes `amount_won` from the streamer's earnings into a new payout's hold, at most once per
/// idempotency key: the same key with the same amount answers the same payout again
/// ([`Effect::Replayed`]); with another amount, `IdempotencyKeyReused`. Refused with nothing
/// written: below the minimum, not above the fee, more than the earnings
/// (`InsufficientFunds`), no payout account (`Refused` `PAYOUT_ACCOUNT_REQUIRED`). While an
/// operator holds another of the streamer's payouts, the new one is held too.
#[tracing::instrument(name = "db.request_payout", skip_all)]
pub async fn request(
    db: &DatabaseConnection,
    streamer_id: &str,
    amount_won: i64,
    key: &IdempotencyKey,
    rules: &PayoutRules,
) -> Result<Effect<payout::Model>, LedgerError> {
    let amount = Amount::new(amount_won)?;
    if amount_won < rules.min_won {
        return Err(LedgerError::InvalidAmount(format!(
            "a payout is at least {} won",
            rules.min_won
        )));
    }
    if amount_won <= rules.fee_won {
        return Err(LedgerError::InvalidAmount(format!(
            "a payout must be more than its fee of {} won",
            rules.fee_won
        )));
    }
    let hash = idempotency::request_hash(OPERATION, &amount.to_string());
    let txn = db.begin().await?;
    match idempotency::claim(&txn, streamer_id, key, OPERATION, &hash).await? {
        Claim::Replay(response) => {
            txn.rollback().await?;
            let stored: Stored = idempotency::decode_response(&response)?;
            let found = super::find(db, &stored.payout_id).await?;
            return Ok(Effect::Replayed(found));
        }
        Claim::Fresh => {}
    }
    // Dropping `txn` on any error below rolls back the claim with everything else.
    let Some(bank) = payout_account::Entity::find_by_id(streamer_id.to_owned())
        .one(&txn)
        .await?
    else {
        return Err(LedgerError::Refused {
            code: "PAYOUT_ACCOUNT_REQUIRED",
            message: "set your payout account (setPayoutAccount) before requesting a payout".into(),
            retry_at: None,
        });
    };
    // While an operator holds one of the streamer's payouts, a new one is held by the same
    // action: a taken-over account cannot route around the hold with a fresh request.
    let held_by: Option<Option<String>> = payout::Entity::find()
        .select_only()
        .column(payout::Column::HeldBy)
        .filter(payout::Column::StreamerId.eq(streamer_id))
        .filter(payout::Column::Status.eq(PayoutStatus::Requested))
        .filter(payout::Column::HeldAt.is_not_null())
        .into_tuple()
        .one(&txn)
        .await?;
    let held_by = held_by.flatten();
    let id = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    let hold = AccountId::payout_hold(&id);
    account::open(&txn, std::slice::from_ref(&hold)).await?;
    let row = payout::ActiveModel {
        id: Set(id.clone()),
        streamer_id: Set(streamer_id.to_owned()),
        amount: Set(amount_won),
        fee: Set(rules.fee_won),
        bank_code: Set(bank.bank_code),
        account_number: Set(bank.account_number),
        account_masked: Set(bank.account_masked),
        holder_name: Set(bank.holder_name),
        status: Set(PayoutStatus::Requested),
        failure_reason: Set(None),
        bank_request_id: Set(format!("missionlink-payout-{id}")),
        requested_at: Set(now),
        hold_until: Set(now + chrono::Duration::seconds(rules.hold_seconds)),
        processing_at: Set(None),
        finished_at: Set(None),
        workflow_started_at: Set(None),
        held_at: Set(held_by.as_ref().map(|_| now)),
        held_by: Set(held_by),
    };
    payout::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    let earnings = AccountId::earnings(streamer_id);
    let net = amount_won - rules.fee_won;
    // Invariant 3: the earnings' conditional debit (`balance >= amount`) refuses an overdraft,
    // so of two requests racing over the same earnings only one commits.
    transfer::apply(
        &txn,
        &Transfer {
            id: transfer_ids::request_net(&id),
            debit: earnings.clone(),
            credit: hold.clone(),
            amount: Amount::new(net)?,
            kind: TransferKind::BankPayout,
        },
    )
    .await?;
    if rules.fee_won > 0 {
        transfer::apply(
            &txn,
            &Transfer {
                id: transfer_ids::request_fee(&id),
                debit: earnings,
                credit: hold,
                amount: Amount::new(rules.fee_won)?,
                kind: TransferKind::PayoutFee,
            },
        )
        .await?;
    }
    let response = idempotency::encode_response(&Stored {
        payout_id: id.clone(),
    })?;
    idempotency::complete(&txn, streamer_id, key, &response).await?;
    let made = super::find(&txn, &id).await?;
    txn.commit().await?;
    Ok(Effect::New(made))
}
