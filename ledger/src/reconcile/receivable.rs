//! What users owe (`receivable:CASH:<user>`): cash a provider gave back after it was spent.
//! The account's balance is minus what is owed and never goes above zero (the database's
//! CHECK). Later cash into the wallet pays it back first: [`repay`], in the transaction that
//! credits the wallet, which holds the wallet's row, so two credits racing each repay from
//! what the other left owed and never repay more than is owed.

use crate::status::{AccountKind, TransferKind};
use crate::transfer::{self, Transfer};
use crate::{AccountId, Amount, Currency, LedgerError};
use missionlink_entities::missions::account;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

/// The wallet's balance, its row taken for `txn` first: every change to what a user owes
/// happens under their wallet's row ([`super::receivable`]).
pub(crate) async fn lock_wallet<C: ConnectionTrait>(
    txn: &C,
    user_id: &str,
) -> Result<i64, LedgerError> {
    let wallet = AccountId::wallet(Currency::Cash, user_id);
    account::Entity::update_many()
        .col_expr(
            account::Column::Balance,
            Expr::col(account::Column::Balance),
        )
        .filter(account::Column::Id.eq(wallet.as_str()))
        .exec(txn)
        .await?;
    let balance: Option<i64> = account::Entity::find_by_id(wallet.as_str())
        .select_only()
        .column(account::Column::Balance)
        .into_tuple()
        .one(txn)
        .await?;
    balance.ok_or_else(|| LedgerError::NotFound(format!("{user_id} has no wallet")))
}

/// Cash just credited to a wallet, inside the caller's transaction (which credited it and so
/// holds the wallet's row).
#[derive(Clone, Debug)]
pub struct Credited<'a> {
    pub user_id: &'a str,
    /// Won credited: the most repaid from it.
    pub amount: i64,
    /// The id of the credit's transfer: the repayment is `repay:<it>`.
    pub transfer_id: &'a str,
}

/// Repays what each credited user owes from what was credited to them (the lesser of the two),
/// wallet to receivable, inside the caller's transaction: one look-up for all of them (nearly
/// always finding nobody owing), then one transfer per user who owes. Returns the won repaid.
pub async fn repay<C: ConnectionTrait>(
    db: &C,
    credited: &[Credited<'_>],
) -> Result<i64, LedgerError> {
    if credited.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = credited
        .iter()
        .map(|c| AccountId::receivable(c.user_id).as_str().to_owned())
        .collect();
    let owing: Vec<(String, i64)> = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .column(account::Column::Balance)
        .filter(account::Column::Id.is_in(ids))
        .filter(account::Column::Kind.eq(AccountKind::Receivable))
        .filter(account::Column::Balance.lt(0))
        .into_tuple()
        .all(db)
        .await?;
    let mut repaid = 0;
    for (id, balance) in owing {
        let mut left = -balance;
        for c in credited
            .iter()
            .filter(|c| AccountId::receivable(c.user_id).as_str() == id)
        {
            let amount = left.min(c.amount);
            if amount <= 0 {
                continue;
            }
            transfer::apply(
                db,
                &Transfer {
                    id: format!("repay:{}", c.transfer_id),
                    debit: AccountId::wallet(Currency::Cash, c.user_id),
                    credit: AccountId::receivable(c.user_id),
                    amount: Amount::new(amount)?,
                    kind: TransferKind::Repayment,
                },
            )
            .await?;
            left -= amount;
            repaid += amount;
        }
    }
    Ok(repaid)
}
