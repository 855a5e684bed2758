//! Refunds of remaining cash (issue 26, item 3): `setRefundAccount`, an account in the
//! caller's verified name, and `requestCashRefund`, a payout of kind `CASH_REFUND` through the
//! same hold, workflow and bank as streamer payouts (`missionlink_ledger::payout::refund`).

use super::context::{paying_caller, state};
use super::money::Won;
use super::payout::{Payout, PayoutAccount, start_workflow};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Object};
use missionlink_identity::persons;
use missionlink_ledger::LedgerError;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::payout::{self as domain, AccountNumber, HolderName};

/// `Wallet.refundAccount`: where `user_id`'s cash refunds go, if set.
pub(super) async fn refund_account(
    ctx: &Context<'_>,
    user_id: &str,
) -> GqlResult<Option<PayoutAccount>> {
    Ok(domain::refund_account(&state(ctx).db.missions, user_id)
        .await
        .map_err(ApiError::from)?
        .map(Into::into))
}

#[derive(Default)]
pub struct CashRefundMutation;

#[Object]
impl CashRefundMutation {
    /// Sets where your cash refunds go: a bank's KFTC 3-digit code, the account number (10 to
    /// 16 digits) and the holder's name, which must be your verified name (`verifyIdentity`;
    /// spaces and letter case aside). Refused, nothing changed: `IDENTITY_REQUIRED` (not
    /// verified), `REFUND_ACCOUNT_NAME_MISMATCH` (another name), `BAD_USER_INPUT`.
    async fn set_refund_account(
        &self,
        ctx: &Context<'_>,
        bank_code: String,
        account_number: String,
        holder_name: String,
    ) -> GqlResult<PayoutAccount> {
        let claims = paying_caller(ctx)?;
        let app = state(ctx);
        let number = AccountNumber::parse(&account_number).map_err(ApiError::from)?;
        let holder = HolderName::parse(&holder_name).map_err(ApiError::from)?;
        match persons::holder_is_verified_name(&app.auth.users_db, &claims.sub, holder.as_str())
            .await
            .map_err(ApiError::from)?
        {
            Some(true) => {}
            Some(false) => {
                return Err(ApiError::Refused {
                    code: "REFUND_ACCOUNT_NAME_MISMATCH",
                    message: "a refund goes only to an account in your own verified name: the \
                              holder's name differs from it"
                        .into(),
                    retry_at: None,
                }
                .into());
            }
            None => {
                return Err(ApiError::Refused {
                    code: "IDENTITY_REQUIRED",
                    message: "verify who you are first (verifyIdentity): a refund goes to an \
                              account in your verified name"
                        .into(),
                    retry_at: None,
                }
                .into());
            }
        }
        let set = domain::set_refund_account(
            &app.db.missions,
            &claims.sub,
            bank_code.trim(),
            &number,
            &holder,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(set.into())
    }

    /// Refunds `amount` won of your cash to your refund account (`setRefundAccount`), once per
    /// `idempotencyKey`: at least `CASH_REFUND_MIN_WON`; its fee is `CASH_REFUND_FEE_BPS` of
    /// it, waived once you have used `CASH_REFUND_FEE_WAIVER_USED_BPS` of what you were
    /// charged. What you owe (`Wallet.owed`) is repaid from your cash first. The amount leaves
    /// your cash at once; the refund goes to the bank after `PAYOUT_HOLD_SECONDS`, and until
    /// then `cancelPayout` gives it back. Refused, nothing changed: `INSUFFICIENT_FUNDS`,
    /// `REFUND_ACCOUNT_REQUIRED`, `BAD_USER_INPUT`, `FORBIDDEN` (no bank configured).
    async fn request_cash_refund(
        &self,
        ctx: &Context<'_>,
        amount: Won,
        idempotency_key: String,
    ) -> GqlResult<Payout> {
        let claims = paying_caller(ctx)?;
        let app = state(ctx);
        if !app.settings.payouts.enabled {
            return Err(ApiError::Forbidden(
                "cash refunds are not available: no bank provider is configured".into(),
            )
            .into());
        }
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let made = domain::request_cash_refund(
            &app.db.missions,
            &claims.sub,
            amount.0,
            &key,
            &app.settings.payouts.refund_rules,
        )
        .await
        .map_err(|e| match e {
            LedgerError::InsufficientFunds { .. } => ApiError::InsufficientFunds(
                "your cash does not cover this refund (after what you owe)".into(),
            ),
            other => other.into(),
        })?;
        let row = made.into_inner();
        if row.workflow_started_at.is_none() {
            start_workflow(app, &row.id);
        }
        Ok(Payout::try_from(row)?)
    }
}
