//! A top-up's order and its confirmation: [`prepare`], [`begin_confirm`], then [`settle`] or
//! [`fail`] once the provider answered.

use super::{TopUpRules, credit_transfer_id, day, receipts};
use crate::status::{TopUpEvent, TopUpStatus, TransferKind};
use crate::transfer::{self, Transfer};
use crate::wallet::{TOP_UP_MAX_WON, TOP_UP_MIN_WON};
use crate::{AccountId, Amount, Currency, LedgerError};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::top_up;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};

/// The refusal of a confirm whose amount is not the order's.
pub const AMOUNT_MISMATCH: &str = "TOPUP_AMOUNT_MISMATCH";

/// Longest `paymentKey` accepted (Toss Payments' keys are at most 200 characters).
pub const MAX_PAYMENT_KEY_CHARS: usize = 200;

/// Records an order of `amount_won` for `user_id` with `provider`, PREPARED. Refused early
/// (nothing written) when today's limit could not take it: the limit is enforced again, under
/// its lock, when the confirm begins.
pub async fn prepare(
    db: &DatabaseConnection,
    user_id: &str,
    amount_won: i64,
    provider: &str,
    rules: &TopUpRules,
    now: DateTime<Utc>,
) -> Result<top_up::Model, LedgerError> {
    let amount = Amount::within(amount_won, TOP_UP_MIN_WON, TOP_UP_MAX_WON)?;
    let today = day::usage(db, user_id, rules.daily_limit_won, now).await?;
    if amount.get() > today.remaining_won {
        return Err(today.refusal(amount.get()));
    }
    let wallet = AccountId::wallet(Currency::Cash, user_id);
    let opened = missionlink_entities::missions::account::Entity::find_by_id(wallet.as_str())
        .one(db)
        .await?;
    if opened.is_none() {
        return Err(LedgerError::NotFound("this user has no wallet".into()));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let row = top_up::ActiveModel {
        order_id: Set(format!("ml-{}", uuid::Uuid::new_v4().simple())),
        id: Set(id),
        user_id: Set(user_id.to_owned()),
        amount: Set(amount.get()),
        status: Set(TopUpStatus::Prepared),
        provider: Set(provider.to_owned()),
        payment_key: Set(None),
        kst_day: Set(None),
        created_at: Set(now),
        confirming_at: Set(None),
        confirmed_at: Set(None),
        withdrawing_at: Set(None),
        withdrawn_at: Set(None),
        failure_code: Set(None),
        failure_message: Set(None),
    };
    Ok(top_up::Entity::insert(row).exec_with_returning(db).await?)
}

/// What a confirm found.
#[derive(Clone, Debug)]
pub enum Begun {
    /// CONFIRMING with this payment: ask the provider to confirm it, then [`settle`] or
    /// [`fail`].
    Ask(top_up::Model),
    /// Already settled with this payment (CONFIRMED or later): answer it, credit nothing.
    Settled(top_up::Model),
}

/// Begins confirming the caller's order `order_id` with the provider's `payment_key`, for
/// `provider` (the order's own: one made for another provider is `INVALID_STATE`).
///
/// The amount is checked against the order first: a mismatch is [`AMOUNT_MISMATCH`] with
/// nothing changed, and the order stays PREPARED (a client bug or a tampered request must not
/// burn the order; the provider was not asked, so nothing was charged). A PREPARED order then
/// becomes CONFIRMING in one transaction with its reservation of the day's limit (refused with
/// `TOPUP_LIMIT_EXCEEDED`, nothing changed). An order already CONFIRMING with the same payment
/// (a retry after the provider did not answer) is asked again; one already settled is answered.
#[allow(clippy::too_many_arguments)]
pub async fn begin_confirm(
    db: &DatabaseConnection,
    user_id: &str,
    order_id: &str,
    payment_key: &str,
    amount_won: i64,
    provider: &str,
    rules: &TopUpRules,
    now: DateTime<Utc>,
) -> Result<Begun, LedgerError> {
    let chars = payment_key.chars().count();
    if chars == 0 || chars > MAX_PAYMENT_KEY_CHARS || payment_key.chars().any(char::is_control) {
        return Err(LedgerError::InvalidInput(format!(
            "paymentKey must be 1 to {MAX_PAYMENT_KEY_CHARS} printable characters"
        )));
    }
    let order = own_order(db, user_id, order_id).await?;
    if order.provider != provider {
        return Err(LedgerError::InvalidState(format!(
            "order {order_id} was made for the payment provider {}, which this server does not use",
            order.provider
        )));
    }
    if order.amount != amount_won {
        return Err(LedgerError::Refused {
            code: AMOUNT_MISMATCH,
            message: format!(
                "order {order_id} is for {} won, not {amount_won} won: nothing was charged or \
                 changed",
                order.amount
            ),
            retry_at: None,
        });
    }
    if order.status != TopUpStatus::Prepared {
        return found(order, payment_key);
    }
    let txn = db.begin().await?;
    // PREPARED -> CONFIRMING, once: a concurrent confirm of the same order waits on the row,
    // then matches nothing and reads what the first one did.
    let moved = top_up::Entity::update_many()
        .col_expr(top_up::Column::Status, Expr::value(TopUpStatus::Confirming))
        .col_expr(top_up::Column::PaymentKey, Expr::value(payment_key))
        .col_expr(top_up::Column::ConfirmingAt, Expr::value(now))
        .col_expr(
            top_up::Column::KstDay,
            Expr::value(day::day_key(day::kst_day(now))),
        )
        .filter(top_up::Column::Id.eq(&order.id))
        .filter(top_up::Column::Status.eq(TopUpStatus::Prepared))
        .exec(&txn)
        .await;
    let moved = match moved {
        Ok(r) => r.rows_affected,
        Err(e) if is_unique_violation(&e) => {
            return Err(LedgerError::InvalidInput(format!(
                "paymentKey {payment_key} belongs to another order"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if moved == 0 {
        txn.rollback().await?;
        return found(own_order(db, user_id, order_id).await?, payment_key);
    }
    day::reserve(&txn, user_id, order.amount, rules.daily_limit_won, now).await?;
    let begun = crate::topup::find(&txn, &order.id).await?;
    txn.commit().await?;
    Ok(Begun::Ask(begun))
}

async fn own_order<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    order_id: &str,
) -> Result<top_up::Model, LedgerError> {
    top_up::Entity::find()
        .filter(top_up::Column::OrderId.eq(order_id))
        .filter(top_up::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("you have no top-up order {order_id}")))
}

/// The answer for an order past PREPARED, confirmed again with `payment_key`.
fn found(order: top_up::Model, payment_key: &str) -> Result<Begun, LedgerError> {
    if order.payment_key.as_deref() != Some(payment_key) {
        return Err(LedgerError::InvalidState(format!(
            "order {} is already being paid with another payment",
            order.order_id
        )));
    }
    match order.status {
        TopUpStatus::Confirming => Ok(Begun::Ask(order)),
        TopUpStatus::Confirmed | TopUpStatus::Withdrawing | TopUpStatus::Withdrawn => {
            Ok(Begun::Settled(order))
        }
        TopUpStatus::Failed => Err(LedgerError::InvalidState(format!(
            "order {} failed at the payment provider ({}): prepare a new top-up",
            order.order_id,
            order.failure_code.as_deref().unwrap_or("-")
        ))),
        TopUpStatus::Prepared => Err(LedgerError::Corrupt(format!(
            "order {} is PREPARED with a payment key",
            order.order_id
        ))),
    }
}

/// The provider approved the payment of top-up `id` (CONFIRMING): CONFIRMED, the wallet
/// credited with `topup:order:<orderId>`, the receipt queued, in one transaction. Settling a
/// top-up that is past CONFIRMING changes nothing. Returns the top-up and whether this call
/// settled it.
pub async fn settle(
    db: &DatabaseConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(top_up::Model, bool), LedgerError> {
    let txn = db.begin().await?;
    let (t, moved) = super::transition(
        &txn,
        id,
        TopUpStatus::Confirming,
        top_up::Entity::update_many()
            .col_expr(top_up::Column::Status, Expr::value(TopUpStatus::Confirmed))
            .col_expr(top_up::Column::ConfirmedAt, Expr::value(now)),
    )
    .await?;
    if !moved {
        txn.rollback().await?;
        return Ok((t, false));
    }
    transfer::apply(
        &txn,
        &Transfer {
            id: credit_transfer_id(&t.order_id),
            debit: AccountId::world(Currency::Cash),
            credit: AccountId::wallet(Currency::Cash, &t.user_id),
            amount: Amount::new(t.amount)?,
            kind: TransferKind::Topup,
        },
    )
    .await?;
    receipts::record(&txn, id, TopUpEvent::Confirmed, now).await?;
    txn.commit().await?;
    Ok((t, true))
}

/// The provider refused the payment of top-up `id` (CONFIRMING): FAILED with the provider's
/// code and message, the day's reservation released. Nothing was credited. Returns the top-up
/// and whether this call failed it.
pub async fn fail(
    db: &DatabaseConnection,
    id: &str,
    code: &str,
    message: &str,
) -> Result<(top_up::Model, bool), LedgerError> {
    let txn = db.begin().await?;
    let (t, moved) = super::transition(
        &txn,
        id,
        TopUpStatus::Confirming,
        top_up::Entity::update_many()
            .col_expr(top_up::Column::Status, Expr::value(TopUpStatus::Failed))
            .col_expr(top_up::Column::FailureCode, Expr::value(code))
            .col_expr(top_up::Column::FailureMessage, Expr::value(message)),
    )
    .await?;
    if !moved {
        txn.rollback().await?;
        return Ok((t, false));
    }
    let day = t
        .kst_day
        .clone()
        .ok_or_else(|| LedgerError::Corrupt(format!("top-up {id} has no day")))?;
    day::release(&txn, &t.user_id, &day, t.amount).await?;
    txn.commit().await?;
    Ok((t, true))
}

/// The top-up of order `order_id`, whoever it belongs to: for the webhook, which knows the order,
/// not the user.
pub async fn by_order<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
) -> Result<Option<top_up::Model>, LedgerError> {
    Ok(top_up::Entity::find()
        .filter(top_up::Column::OrderId.eq(order_id))
        .one(db)
        .await?)
}

fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
