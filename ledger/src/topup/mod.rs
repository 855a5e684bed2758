//! Top-ups through a payment provider (issue 15): the order, its confirmation against the
//! day's limit, its withdrawal, and the receipts they owe.
//!
//! The ledger never talks to the provider: the API asks it between two of these steps, and each
//! step is one transaction of conditional updates that a retry, a concurrent caller or the
//! provider's webhook can repeat without a second effect.
//!
//! - [`order::prepare`] records an order (PREPARED) and hands back its `orderId`.
//! - [`order::begin_confirm`] checks the amount against the order, reserves the amount in the
//!   user's Asia/Seoul day ([`day`]), and for a minor's order in the month too ([`month`]), and
//!   marks it CONFIRMING, before anyone asks the provider to take the payment: a payment over
//!   a limit is never taken.
//! - [`order::settle`] (the provider approved: CONFIRMED, wallet credited with
//!   `topup:order:<orderId>`, receipt queued) or [`order::fail`] (refused: FAILED, reservations
//!   released).
//! - [`withdraw::begin`] (within the window, while the wallet covers the whole amount: the
//!   wallet debited with `withdrawal:<top-up>`, WITHDRAWING), then [`withdraw::finish`]
//!   (the provider cancelled: WITHDRAWN, receipt queued) or [`withdraw::refused`] (the
//!   provider would not cancel: the won back with `withdrawal-return:<top-up>`, CONFIRMED).

pub mod customer;
pub mod day;
pub mod list;
pub mod month;
pub mod order;
pub mod receipts;
pub mod webhooks;
pub mod withdraw;

use crate::LedgerError;
use crate::status::TopUpStatus;
use chrono::{DateTime, Utc};
use missionlink_entities::missions::top_up;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, UpdateMany,
};

/// The bounds of top-ups (`TOPUP_DAILY_LIMIT_WON`, `TOPUP_MINOR_MONTHLY_LIMIT_WON`,
/// `TOPUP_WITHDRAWAL_DAYS`, `TOPUP_ORDER_TTL_SECONDS`).
#[derive(Clone, Copy, Debug)]
pub struct TopUpRules {
    /// Most won one user may top up in one Asia/Seoul calendar day (KCC guideline: 1,000,000).
    pub daily_limit_won: i64,
    /// Most won a verified minor (under 19, with a guardian's consent) may top up in one
    /// Asia/Seoul calendar month, on top of the daily limit ([`month`]).
    pub minor_monthly_limit_won: i64,
    /// Days after confirmation within which an unspent top-up may be withdrawn (KCC: 7).
    pub withdrawal_days: i64,
    /// How long a PREPARED order may wait for its confirm: past it the confirm is refused
    /// ([`order::ORDER_EXPIRED`]) and the worker deletes the order ([`order::sweep_expired`]).
    pub order_ttl_seconds: i64,
}

/// `TOPUP_ORDER_TTL_SECONDS`' default: the customer's time in the payment widget plus Toss
/// Payments' own 10 minutes between the widget's authentication and the confirm (after which
/// Toss expires the payment and no confirm could take it), with room for a slow customer.
pub const DEFAULT_ORDER_TTL_SECONDS: i64 = 1_800;

/// `TOPUP_MINOR_MONTHLY_LIMIT_WON`'s default: 70,000 won, the monthly purchase limit for minors
/// Korea's online games have kept since the adults' monthly limit was lifted in 2019 (the
/// limit a Korean parent knows for paid digital items).
pub const DEFAULT_MINOR_MONTHLY_LIMIT_WON: i64 = 70_000;

impl Default for TopUpRules {
    fn default() -> Self {
        Self {
            daily_limit_won: 1_000_000,
            minor_monthly_limit_won: DEFAULT_MINOR_MONTHLY_LIMIT_WON,
            withdrawal_days: 7,
            order_ttl_seconds: DEFAULT_ORDER_TTL_SECONDS,
        }
    }
}

/// The transfer that credits a confirmed top-up: named by the order, so a second settlement of
/// the same order (a retried confirm, the webhook) moves nothing.
pub fn credit_transfer_id(order_id: &str) -> String {
    format!("topup:order:{order_id}")
}

/// The transfer that debits a withdrawn top-up.
pub fn withdrawal_transfer_id(top_up_id: &str) -> String {
    format!("withdrawal:{top_up_id}")
}

/// The transfer that gives a withdrawal back when the provider refused to cancel.
pub fn withdrawal_return_transfer_id(top_up_id: &str) -> String {
    format!("withdrawal-return:{top_up_id}")
}

/// Until when a top-up confirmed at `confirmed_at` may be withdrawn.
pub fn withdrawable_until(confirmed_at: DateTime<Utc>, rules: &TopUpRules) -> DateTime<Utc> {
    confirmed_at
        .checked_add_signed(chrono::Duration::days(rules.withdrawal_days))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The top-up with this id, or `NotFound`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<top_up::Model, LedgerError> {
    top_up::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("no top-up has id {id}")))
}

/// The caller's own top-up with this id; another user's is `NotFound` too (ids are not
/// secrets, but whose they are is).
pub async fn find_own<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    id: &str,
) -> Result<top_up::Model, LedgerError> {
    match find(db, id).await {
        Ok(t) if t.user_id == user_id => Ok(t),
        Ok(_) | Err(LedgerError::NotFound(_)) => Err(LedgerError::NotFound(format!(
            "you have no top-up with id {id}"
        ))),
        Err(e) => Err(e),
    }
}

/// The top-up a transfer names, if it names one: its credit (`topup:order:<orderId>`), its
/// withdrawal (`withdrawal:<top-up>`) or that withdrawal given back (`withdrawal-return:<top-up>`).
/// A sandbox `topUp`'s credit (`topup:<user>:<key>`) names none.
pub async fn of_transfer<C: ConnectionTrait>(
    db: &C,
    transfer_id: &str,
) -> Result<Option<top_up::Model>, LedgerError> {
    if let Some(order_id) = transfer_id.strip_prefix("topup:order:") {
        return order::by_order(db, order_id).await;
    }
    let id = transfer_id
        .strip_prefix("withdrawal-return:")
        .or_else(|| transfer_id.strip_prefix("withdrawal:"));
    match id {
        Some(id) => Ok(top_up::Entity::find_by_id(id.to_owned()).one(db).await?),
        None => Ok(None),
    }
}

/// Moves top-up `id` out of `from` with `update` (its new status and columns), inside `txn`: the
/// top-up as it is afterwards, and whether this call moved it. A top-up no longer in `from`
/// matches nothing: the step was taken before (a retry, the webhook, the worker).
async fn transition(
    txn: &DatabaseTransaction,
    id: &str,
    from: TopUpStatus,
    update: UpdateMany<top_up::Entity>,
) -> Result<(top_up::Model, bool), LedgerError> {
    let moved = update
        .filter(top_up::Column::Id.eq(id))
        .filter(top_up::Column::Status.eq(from))
        .exec(txn)
        .await?
        .rows_affected;
    Ok((find(txn, id).await?, moved == 1))
}
