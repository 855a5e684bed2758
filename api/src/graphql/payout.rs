//! Streamer payouts: `setPayoutAccount`, `requestPayout`, `cancelPayout`, and on the caller's
//! `wallet` their `payoutAccount` and `payouts`. The account number is never returned: every
//! answer carries `accountMasked`. After a request commits, the payout's workflow is started
//! right away in the background (the worker's relay starts any the API missed); after a
//! cancel commits, the workflow is signalled, best effort.

use super::connection::{List, PageArgs, list};
use super::context::{caller, paying_caller, state};
use super::money::Won;
use super::status::{PayoutKind, PayoutStatus};
use crate::error::{ApiError, GqlResult};
use crate::state::AppState;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::payout as payout_row;
use missionlink_identity::{AccessClaims, Role};
use missionlink_ledger::LedgerError;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::payout::{self as domain, AccountNumber, HolderName, banks};

/// Where a streamer's payouts go. The full account number is never shown.
#[derive(SimpleObject, Clone, Debug)]
pub struct PayoutAccount {
    /// KFTC 3-digit bank code, e.g. `004`.
    pub bank_code: String,
    pub bank_name: String,
    /// The account number with every digit but the last four hidden.
    pub account_masked: String,
    pub holder_name: String,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::PayoutAccount> for PayoutAccount {
    fn from(a: domain::PayoutAccount) -> Self {
        Self {
            bank_code: a.bank_code,
            bank_name: a.bank_name.to_owned(),
            account_masked: a.account_masked,
            holder_name: a.holder_name,
            updated_at: a.updated_at,
        }
    }
}

/// The account a payout goes to, as it was when the payout was requested.
#[derive(SimpleObject, Clone, Debug)]
pub struct PayoutDestination {
    pub bank_code: String,
    pub bank_name: String,
    pub account_masked: String,
    pub holder_name: String,
}

/// A request to pay a streamer's earnings out to their bank account.
#[derive(SimpleObject, Clone, Debug)]
pub struct Payout {
    pub id: ID,
    /// Won taken from earnings.
    pub amount: Won,
    /// The payout fee, taken from the amount.
    pub fee: Won,
    /// What the bank is asked to send: amount less fee.
    pub net: Won,
    pub status: PayoutStatus,
    pub account: PayoutDestination,
    pub requested_at: DateTime<Utc>,
    /// Until when it may be cancelled; it goes to the bank after this.
    pub hold_until: DateTime<Utc>,
    /// When it was handed to the bank.
    pub processing_at: Option<DateTime<Utc>>,
    /// When it was paid, failed or cancelled.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why the bank refused it (FAILED only).
    pub failure_reason: Option<String>,
    /// Since when an operator holds it (or it was held because its streamer is suspended): it
    /// stays REQUESTED and waits for an operator instead of leaving for the bank. Null: not
    /// held.
    pub held_at: Option<DateTime<Utc>>,
    /// Earnings paid out (`requestPayout`), or remaining cash refunded
    /// (`requestCashRefund`).
    pub kind: PayoutKind,
}

impl TryFrom<payout_row::Model> for Payout {
    type Error = ApiError;

    fn try_from(p: payout_row::Model) -> Result<Self, ApiError> {
        let net = p
            .amount
            .checked_sub(p.fee)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("payout {} net overflows", p.id)))?;
        Ok(Self {
            amount: Won::of(p.amount, "payout amount")?,
            fee: Won::of(p.fee, "payout fee")?,
            net: Won::of(net, "payout net")?,
            status: p.status.into(),
            account: PayoutDestination {
                bank_name: banks::bank_name(&p.bank_code)
                    .unwrap_or(&p.bank_code)
                    .to_owned(),
                bank_code: p.bank_code,
                account_masked: p.account_masked,
                holder_name: p.holder_name,
            },
            requested_at: p.requested_at,
            hold_until: p.hold_until,
            processing_at: p.processing_at,
            finished_at: p.finished_at,
            failure_reason: p.failure_reason,
            held_at: p
                .held_at
                .filter(|_| p.status == PayoutStatus::Requested.into()),
            kind: p.kind.into(),
            id: ID(p.id),
        })
    }
}

/// `Wallet.payoutAccount`: where `user_id`'s payouts go, if set.
pub(super) async fn payout_account(
    ctx: &Context<'_>,
    user_id: &str,
) -> GqlResult<Option<PayoutAccount>> {
    let found = domain::account(&state(ctx).db.missions, user_id)
        .await
        .map_err(ApiError::from)?;
    Ok(found.map(PayoutAccount::from))
}

/// `Wallet.payouts`: `user_id`'s payouts, newest first, of `status` if given.
pub(super) async fn payouts(
    ctx: &Context<'_>,
    user_id: &str,
    status: Option<PayoutStatus>,
    args: PageArgs,
) -> GqlResult<List<Payout>> {
    Ok(list(
        &state(ctx).db.missions,
        domain::payouts(user_id, status.map(Into::into)),
        &domain::payout_order(true),
        &args,
    )
    .await?)
}

fn streamer_only(claims: &AccessClaims) -> Result<(), ApiError> {
    match claims.role {
        Role::Streamer => Ok(()),
        Role::Viewer | Role::Operator => Err(ApiError::Forbidden(
            "only streamers have earnings to pay out".into(),
        )),
    }
}

/// The ledger's refusal of a payout, in the payout's words.
fn refusal(e: LedgerError) -> ApiError {
    match e {
        LedgerError::InsufficientFunds { .. } => {
            ApiError::InsufficientFunds("your earnings do not cover this payout".into())
        }
        other => other.into(),
    }
}

/// After a request commits: start its workflow now, in the request's trace (the relay covers
/// a failure).
pub(super) fn start_workflow(app: &AppState, payout_id: &str) {
    super::background::after_commit(
        app,
        payout_id,
        "payout workflow left for the relay",
        |app, id| async move {
            let client = app.temporal.client().await?;
            missionlink_workflows::payout::outbox::deliver(
                &app.db.missions,
                &client,
                &app.temporal.config().task_queue,
                &id,
            )
            .await
        },
    );
}

/// After a cancel commits: tell the workflow, best effort (it reads CANCELLED at the end of
/// its hold anyway).
fn signal_cancelled(app: &AppState, payout_id: &str) {
    super::background::after_commit(
        app,
        payout_id,
        "payout cancel not signalled; the workflow reads it at the end of the hold",
        |app, id| async move {
            let client = app.temporal.client().await?;
            missionlink_workflows::payout::outbox::signal_cancelled(&client, &id).await
        },
    );
}

#[derive(Default)]
pub struct PayoutMutation;

#[Object]
impl PayoutMutation {
    /// Sets where your payouts go (streamers only): a bank's KFTC 3-digit code (`004` KB국민,
    /// `088` 신한, `090` 카카오뱅크, ...), the account number (10 to 16 digits; hyphens and
    /// spaces ignored) and the holder's name. Payouts already requested keep their account.
    async fn set_payout_account(
        &self,
        ctx: &Context<'_>,
        bank_code: String,
        account_number: String,
        holder_name: String,
    ) -> GqlResult<PayoutAccount> {
        let claims = paying_caller(ctx)?;
        streamer_only(claims)?;
        let number = AccountNumber::parse(&account_number).map_err(ApiError::from)?;
        let holder = HolderName::parse(&holder_name).map_err(ApiError::from)?;
        let set = domain::set_account(
            &state(ctx).db.missions,
            &claims.sub,
            bank_code.trim(),
            &number,
            &holder,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(set.into())
    }

    /// Asks to pay `amount` won of your earnings out to your payout account (streamers only):
    /// at least `PAYOUT_MIN`, the fee `PAYOUT_FEE_WON` taken from it. The amount leaves your
    /// earnings at once; the payout goes to the bank after `PAYOUT_HOLD_SECONDS`, and until
    /// then `cancelPayout` gives it back. Idempotent per `idempotencyKey`.
    async fn request_payout(
        &self,
        ctx: &Context<'_>,
        amount: Won,
        idempotency_key: String,
    ) -> GqlResult<Payout> {
        let claims = paying_caller(ctx)?;
        streamer_only(claims)?;
        let app = state(ctx);
        if !app.settings.payouts.enabled {
            return Err(ApiError::Forbidden(
                "payouts are not available: no bank provider is configured".into(),
            )
            .into());
        }
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let made = domain::request(
            &app.db.missions,
            &claims.sub,
            amount.0,
            &key,
            &app.settings.payouts.rules,
        )
        .await
        .map_err(refusal)?;
        let row = made.into_inner();
        if row.workflow_started_at.is_none() {
            start_workflow(app, &row.id);
        }
        Ok(Payout::try_from(row)?)
    }

    /// Cancels your payout while it is REQUESTED: the whole amount goes back to your earnings.
    /// Idempotent per `idempotencyKey`. Cancelling a CANCELLED payout answers it unchanged; any
    /// other status is `INVALID_STATE`, naming the status.
    async fn cancel_payout(
        &self,
        ctx: &Context<'_>,
        id: ID,
        idempotency_key: String,
    ) -> GqlResult<Payout> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let (row, changed) = domain::cancel(&app.db.missions, &claims.sub, id.as_str(), &key)
            .await
            .map_err(ApiError::from)?;
        if changed {
            missionlink_telemetry::metrics().payout_finished(row.status.as_str());
            signal_cancelled(app, &row.id);
        }
        Ok(Payout::try_from(row)?)
    }
}

/// A payout named by the caller's own statement (a transfer on their earnings): one read.
pub(super) async fn own_payout(ctx: &Context<'_>, id: &str) -> Result<Payout, ApiError> {
    let found = domain::find(&state(ctx).db.missions, id).await?;
    Payout::try_from(found)
}
