//! `requestPayout` (and `requestCashRefund`, `refund.rs`): earnings (or cash) into the payout's
//! hold, in one transaction with the payout row and the idempotency claim.

use super::transfer_ids;
use crate::idempotency::{self, Claim, Effect, IdempotencyKey};
use crate::status::{PayoutKind, PayoutStatus, TransferKind};
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
    Amount::new(amount_won)?;
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
    let fee = rules.fee_won;
    let spec = Spec {
        kind: PayoutKind::Earnings,
        operation: OPERATION,
        account_key: streamer_id.to_owned(),
        no_account: (
            "PAYOUT_ACCOUNT_REQUIRED",
            "set your payout account (setPayoutAccount) before requesting a payout",
        ),
        hold_seconds: rules.hold_seconds,
    };
    make(db, streamer_id, amount_won, key, &spec, async |_| Ok(fee)).await
}

/// What kind of payout [`make`] makes, from where, to which account.
pub(super) struct Spec {
    pub kind: PayoutKind,
    /// The idempotency claim's operation.
    pub operation: &'static str,
    /// The `payout_accounts` row it goes to.
    pub account_key: String,
    /// The refusal's code and message when that row is missing.
    pub no_account: (&'static str, &'static str),
    pub hold_seconds: i64,
}

impl Spec {
    /// The account it is paid from, and the kinds of its net and fee legs.
    fn source(&self, user_id: &str) -> (AccountId, TransferKind, TransferKind) {
        match self.kind {
            PayoutKind::Earnings => (
                AccountId::earnings(user_id),
                TransferKind::BankPayout,
                TransferKind::PayoutFee,
            ),
            PayoutKind::CashRefund => (
                AccountId::wallet(crate::Currency::Cash, user_id),
                TransferKind::CashRefund,
                TransferKind::CashRefundFee,
            ),
        }
    }
}

/// Makes a payout of `spec`'s kind: `amount_won` from the user's source account into the new
/// payout's hold, its fee the answer of `fee_of` (called in the transaction, after the claim,
/// with it), at most once per idempotency key. See [`request`].
pub(super) async fn make<F>(
    db: &DatabaseConnection,
    user_id: &str,
    amount_won: i64,
    key: &IdempotencyKey,
    spec: &Spec,
    fee_of: F,
) -> Result<Effect<payout::Model>, LedgerError>
where
    F: AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<i64, LedgerError>,
{
    let amount = Amount::new(amount_won)?;
    let hash = idempotency::request_hash(spec.operation, &amount.to_string());
    let txn = db.begin().await?;
    match idempotency::claim(&txn, user_id, key, spec.operation, &hash).await? {
        Claim::Replay(response) => {
            txn.rollback().await?;
            let stored: Stored = idempotency::decode_response(&response)?;
            let found = super::find(db, &stored.payout_id).await?;
            return Ok(Effect::Replayed(found));
        }
        Claim::Fresh => {}
    }
    // Dropping `txn` on any error below rolls back the claim with everything else.
    let Some(bank) = payout_account::Entity::find_by_id(spec.account_key.clone())
        .one(&txn)
        .await?
    else {
        return Err(LedgerError::Refused {
            code: spec.no_account.0,
            message: spec.no_account.1.into(),
            retry_at: None,
        });
    };
    let fee = fee_of(&txn).await?;
    if fee >= amount_won {
        return Err(LedgerError::InvalidAmount(format!(
            "{amount_won} won must be more than the fee of {fee} won"
        )));
    }
    // While an operator holds one of the user's payouts, a new one is held by the same
    // action: a taken-over account cannot route around the hold with a fresh request.
    let held_by: Option<Option<String>> = payout::Entity::find()
        .select_only()
        .column(payout::Column::HeldBy)
        .filter(payout::Column::StreamerId.eq(user_id))
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
        streamer_id: Set(user_id.to_owned()),
        amount: Set(amount_won),
        fee: Set(fee),
        bank_code: Set(bank.bank_code),
        account_number: Set(bank.account_number),
        account_masked: Set(bank.account_masked),
        holder_name: Set(bank.holder_name),
        status: Set(PayoutStatus::Requested),
        failure_reason: Set(None),
        bank_request_id: Set(format!("missionlink-payout-{id}")),
        requested_at: Set(now),
        hold_until: Set(now + chrono::Duration::seconds(spec.hold_seconds)),
        processing_at: Set(None),
        finished_at: Set(None),
        workflow_started_at: Set(None),
        held_at: Set(held_by.as_ref().map(|_| now)),
        held_by: Set(held_by),
        kind: Set(spec.kind),
    };
    payout::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    let (source, net_kind, fee_kind) = spec.source(user_id);
    // Invariant 3: the source's conditional debit (`balance >= amount`) refuses an overdraft,
    // so of two requests racing over the same won only one commits.
    transfer::apply(
        &txn,
        &Transfer {
            id: transfer_ids::request_net(&id),
            debit: source.clone(),
            credit: hold.clone(),
            amount: Amount::new(amount_won - fee)?,
            kind: net_kind,
        },
    )
    .await?;
    if fee > 0 {
        transfer::apply(
            &txn,
            &Transfer {
                id: transfer_ids::request_fee(&id),
                debit: source,
                credit: hold,
                amount: Amount::new(fee)?,
                kind: fee_kind,
            },
        )
        .await?;
    }
    let response = idempotency::encode_response(&Stored {
        payout_id: id.clone(),
    })?;
    idempotency::complete(&txn, user_id, key, &response).await?;
    let made = super::find(&txn, &id).await?;
    txn.commit().await?;
    Ok(Effect::New(made))
}
