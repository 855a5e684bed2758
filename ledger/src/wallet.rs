//! User-facing money operations: opening a user's accounts, topping up, reading the wallet.
//!
//! Accounts are opened only by [`open_user`], which the API calls for registered users (at
//! registration and at every login). Nothing else opens a user's accounts: a top-up for an id
//! without a wallet is refused, and reading one answers zero balances and writes nothing.

use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::money::MAX_BALANCE;
use crate::status::TransferKind;
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError, account};
use chrono::Utc;
use missionlink_entities::missions::account as account_entity;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// Smallest top-up, in won.
pub const TOP_UP_MIN_WON: i64 = 1_000;
/// Largest top-up, in won.
pub const TOP_UP_MAX_WON: i64 = 1_000_000;

/// A user's balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// Spendable won.
    pub cash_won: i64,
    /// Game points.
    pub points: i64,
    /// Won paid out to the user as a streamer.
    pub earnings_won: i64,
    /// Won the user owes (a top-up cancelled at the payment provider after it was spent),
    /// repaid first from later top-ups and refunds. Absent from responses stored before it.
    #[serde(default)]
    pub owed_won: i64,
}

/// Opens the user's accounts and grants the signup points, once. Safe to call any number of
/// times: accounts are created if missing and the grant has the deterministic id
/// `signup:<user>`. Registration calls it after the user row is committed in the users database,
/// and every login calls it again, so a crash between the two databases heals itself.
#[tracing::instrument(name = "db.open_user", skip_all)]
pub async fn open_user(
    db: &DatabaseConnection,
    user_id: &str,
    signup_points: i64,
) -> Result<(), LedgerError> {
    let txn = db.begin().await?;
    account::open(&txn, &account::user_accounts(user_id)).await?;
    if signup_points > 0 {
        transfer::apply(
            &txn,
            &Transfer {
                id: format!("signup:{user_id}"),
                debit: AccountId::world(Currency::Points),
                credit: AccountId::wallet(Currency::Points, user_id),
                amount: Amount::new(signup_points)?,
                kind: TransferKind::SignupGrant,
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Credits `amount_won` from the sandbox payment provider (the outside world) to the user's
/// cash wallet, at most once per idempotency key. Returns the wallet right after the credit;
/// a replay returns that same first answer. A user whose accounts were never opened gets
/// `NotFound`, and nothing is written. The credit counts toward the user's limit of the
/// Asia/Seoul day (`daily_limit_won`, reserved in the same transaction: `TOPUP_LIMIT_EXCEEDED`
/// past it, nothing written), like a top-up through the payment provider.
pub async fn top_up(
    db: &DatabaseConnection,
    user_id: &str,
    amount_won: i64,
    key: &IdempotencyKey,
    daily_limit_won: i64,
) -> Result<Wallet, LedgerError> {
    top_up_counted(db, user_id, user_id, amount_won, key, daily_limit_won, None).await
}

/// [`top_up`], counted toward the daily limit of `limit_key` (the person or the user, as
/// identity says; see `topup::day`) rather than the user's own, and, given
/// `minor_monthly_limit_won` (identity says the caller is a verified minor), toward the
/// person's Asia/Seoul month too (`topup::month`: `TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED` past
/// it, nothing written).
#[tracing::instrument(name = "db.top_up", skip_all)]
pub async fn top_up_counted(
    db: &DatabaseConnection,
    user_id: &str,
    limit_key: &str,
    amount_won: i64,
    key: &IdempotencyKey,
    daily_limit_won: i64,
    minor_monthly_limit_won: Option<i64>,
) -> Result<Wallet, LedgerError> {
    let amount = Amount::within(amount_won, TOP_UP_MIN_WON, TOP_UP_MAX_WON)?;
    let hash = idempotency::request_hash("topUp", &amount.to_string());
    let txn = db.begin().await?;
    match idempotency::claim(&txn, user_id, key, "topUp", &hash).await? {
        Claim::Replay(response) => {
            txn.rollback().await?;
            serde_json::from_str(&response)
                .map_err(|e| LedgerError::Corrupt(format!("stored topUp response: {e}")))
        }
        Claim::Fresh => {
            let now = Utc::now();
            let day =
                crate::topup::day::reserve(&txn, limit_key, amount.get(), daily_limit_won, now)
                    .await?;
            if let Some(limit) = minor_monthly_limit_won {
                crate::topup::month::reserve(&txn, limit_key, &day, amount.get(), limit, now)
                    .await?;
            }
            let credit_id = format!("topup:{user_id}:{}", key.as_str());
            let credited = transfer::apply(
                &txn,
                &Transfer {
                    id: credit_id.clone(),
                    debit: AccountId::world(Currency::Cash),
                    credit: AccountId::wallet(Currency::Cash, user_id),
                    amount,
                    kind: TransferKind::Topup,
                },
            )
            .await;
            // Dropping the transaction rolls back the idempotency claim too.
            if let Err(LedgerError::UnknownAccount(_)) = credited {
                return Err(LedgerError::NotFound("this user has no wallet".into()));
            }
            credited?;
            crate::reconcile::receivable::repay(
                &txn,
                &[crate::reconcile::receivable::Credited {
                    user_id,
                    amount: amount.get(),
                    transfer_id: &credit_id,
                }],
            )
            .await?;
            let wallet = read(&txn, user_id).await?;
            if wallet.cash_won > MAX_BALANCE {
                txn.rollback().await?;
                return Err(LedgerError::InvalidAmount(format!(
                    "a wallet holds at most {MAX_BALANCE} won; this top-up would pass it"
                )));
            }
            let response = serde_json::to_string(&wallet)
                .map_err(|e| LedgerError::Corrupt(format!("encode topUp response: {e}")))?;
            idempotency::complete(&txn, user_id, key, &response).await?;
            txn.commit().await?;
            Ok(wallet)
        }
    }
}

/// The user's current balances (zero for accounts not opened yet). Reads only.
pub async fn read<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Wallet, LedgerError> {
    let mut ids = account::user_accounts(user_id);
    ids.push(AccountId::receivable(user_id));
    let rows = account_entity::Entity::find()
        .filter(account_entity::Column::Id.is_in(ids.iter().map(|a| a.as_str().to_owned())))
        .all(db)
        .await?;
    let balance_of = |id: &AccountId| {
        rows.iter()
            .find(|r| r.id == id.as_str())
            .map_or(0, |r| r.balance)
    };
    Ok(Wallet {
        cash_won: balance_of(&AccountId::wallet(Currency::Cash, user_id)),
        points: balance_of(&AccountId::wallet(Currency::Points, user_id)),
        earnings_won: balance_of(&AccountId::earnings(user_id)),
        owed_won: -balance_of(&AccountId::receivable(user_id)).min(0),
    })
}
