//! Cash refunds (issue 26, item 3): a user's remaining cash paid to a refund account in their
//! verified name, through the payouts' machinery (a payout of kind `CASH_REFUND`: the same
//! hold, workflow, bank port and exactly-once steps; the cash back to the wallet if the bank
//! refuses or the refund is cancelled).
//!
//! The refund account is the `payout_accounts` row keyed [`refund_account_key`]: the same
//! validation, masking and snapshot into the payout as a streamer's payout account, kept apart
//! from it (a streamer may be paid to another account than the one their own cash goes back
//! to). The name check against the verified name is the API's: identity knows the name.
//!
//! The fee is `CASH_REFUND_FEE_BPS` of the amount, floored to the won, waived once the user has
//! used at least `CASH_REFUND_FEE_WAIVER_USED_BPS` of what they were charged ([`Usage`]).
//! What the user owes ([`crate::reconcile::receivable`]) is repaid from their cash first.

use super::account::{AccountNumber, HolderName, PayoutAccount, account, set_account};
use super::request::{Spec, make};
use crate::idempotency::{Effect, IdempotencyKey};
use crate::reconcile::receivable;
use crate::sql::param;
use crate::status::{PayoutKind, TransferKind};
use crate::{AccountId, Currency, LedgerError};
use missionlink_entities::missions::payout;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// The bounds of a cash refund (`CASH_REFUND_*`).
#[derive(Clone, Copy, Debug)]
pub struct CashRefundRules {
    /// Smallest refund, won.
    pub min_won: i64,
    /// The fee, in basis points of the amount.
    pub fee_bps: u32,
    /// The share of what was charged (basis points) whose use waives the fee.
    pub waiver_used_bps: u32,
    /// How long a refund waits (cancellable) before it goes to the bank: the payouts' hold.
    pub hold_seconds: i64,
}

/// The `payout_accounts` key of `user_id`'s refund account.
pub fn refund_account_key(user_id: &str) -> String {
    format!("refund:{user_id}")
}

/// Sets (or replaces) `user_id`'s refund account. The caller has checked the holder's name
/// against the verified one.
pub async fn set_refund_account<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    bank_code: &str,
    number: &AccountNumber,
    holder: &HolderName,
) -> Result<PayoutAccount, LedgerError> {
    set_account(db, &refund_account_key(user_id), bank_code, number, holder).await
}

/// `user_id`'s refund account, if set.
pub async fn refund_account<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Option<PayoutAccount>, LedgerError> {
    account(db, &refund_account_key(user_id)).await
}

/// What a user was charged and has used, in won: charged is every top-up credited less what
/// was withdrawn (and not given back) or reversed at the provider; used is what of it is
/// neither in the wallet nor refunded in cash before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub charged: i64,
    pub used: i64,
}

impl Usage {
    /// The fee of refunding `amount_won` under `rules`: waived when at least
    /// `waiver_used_bps` of what was charged has been used (or nothing was charged).
    pub fn fee(&self, amount_won: i64, rules: &CashRefundRules) -> i64 {
        let waived = i128::from(self.used) * 10_000
            >= i128::from(self.charged) * i128::from(rules.waiver_used_bps);
        if waived {
            0
        } else {
            i64::try_from(i128::from(amount_won) * i128::from(rules.fee_bps) / 10_000)
                .unwrap_or(i64::MAX)
        }
    }
}

/// `user_id`'s [`Usage`], with `cash_won` in the wallet now.
pub async fn usage<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    cash_won: i64,
) -> Result<Usage, LedgerError> {
    let backend = db.get_database_backend();
    let wallet = AccountId::wallet(Currency::Cash, user_id);
    let sum = |side: &str, kinds: &[TransferKind]| {
        let kinds = kinds
            .iter()
            .map(|k| format!("'{}'", k.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "COALESCE((SELECT SUM(amount) FROM transfers WHERE {side}_account_id = {} \
             AND kind IN ({kinds})), 0)",
            param(backend, 1)
        )
    };
    let sql = format!(
        "SELECT CAST({} - {} + {} AS BIGINT) AS charged, CAST({} - {} AS BIGINT) AS refunded",
        sum("credit", &[TransferKind::Topup]),
        sum(
            "debit",
            &[TransferKind::Withdrawal, TransferKind::ProviderReversal]
        ),
        sum("credit", &[TransferKind::WithdrawalReturn]),
        sum(
            "debit",
            &[TransferKind::CashRefund, TransferKind::CashRefundFee]
        ),
        sum("credit", &[TransferKind::CashRefundReturn]),
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [wallet.as_str().to_owned().into()],
        ))
        .await?
        .ok_or_else(|| LedgerError::Corrupt("usage returned no row".into()))?;
    let charged: i64 = row.try_get("", "charged")?;
    let refunded: i64 = row.try_get("", "refunded")?;
    Ok(Usage {
        charged: charged.max(0),
        used: (charged - cash_won - refunded).max(0),
    })
}

/// Refunds `amount_won` of `user_id`'s cash to their refund account, at most once per
/// idempotency key (see `payout::request`): what they owe is repaid from the cash first, then
/// the amount (fee included) leaves the wallet into the refund's hold, and the payout workflow
/// pays the net to the bank. Refused with nothing written: below `rules.min_won`, not above its
/// fee, more than the cash left (`InsufficientFunds`), no refund account
/// (`REFUND_ACCOUNT_REQUIRED`).
#[tracing::instrument(name = "db.request_cash_refund", skip_all)]
pub async fn request_cash_refund(
    db: &DatabaseConnection,
    user_id: &str,
    amount_won: i64,
    key: &IdempotencyKey,
    rules: &CashRefundRules,
) -> Result<Effect<payout::Model>, LedgerError> {
    if amount_won < rules.min_won {
        return Err(LedgerError::InvalidAmount(format!(
            "a cash refund is at least {} won",
            rules.min_won
        )));
    }
    let spec = Spec {
        kind: PayoutKind::CashRefund,
        operation: "requestCashRefund",
        account_key: refund_account_key(user_id),
        no_account: (
            "REFUND_ACCOUNT_REQUIRED",
            "set your refund account (setRefundAccount), in your verified name, first",
        ),
        hold_seconds: rules.hold_seconds,
    };
    let rules = *rules;
    make(db, user_id, amount_won, key, &spec, async move |txn| {
        // The wallet's row is this transaction's from here on: what is owed, and the cash the
        // fee's waiver reads, cannot change under it. What is owed is repaid first.
        let cash = receivable::lock_wallet(txn, user_id).await?;
        receivable::repay(
            txn,
            &[receivable::Credited {
                user_id,
                amount: cash,
                transfer_id: &format!("cashrefund:{user_id}:{}", key.as_str()),
            }],
        )
        .await?;
        let cash = crate::wallet::read(txn, user_id).await?.cash_won;
        Ok(usage(txn, user_id, cash).await?.fee(amount_won, &rules))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: CashRefundRules = CashRefundRules {
        min_won: 1_000,
        fee_bps: 1_000,
        waiver_used_bps: 8_000,
        hold_seconds: 0,
    };

    #[test]
    fn the_fee_is_floored_and_waived_from_eighty_percent_used() {
        let u = |charged, used| Usage { charged, used };
        assert_eq!(u(100_000, 0).fee(50_005, &RULES), 5_000);
        assert_eq!(u(100_000, 79_999).fee(20_001, &RULES), 2_000);
        assert_eq!(u(100_000, 80_000).fee(20_000, &RULES), 0);
        assert_eq!(
            u(0, 0).fee(5_000, &RULES),
            0,
            "nothing charged, nothing to keep"
        );
    }
}
