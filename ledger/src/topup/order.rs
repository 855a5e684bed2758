//! A top-up's order and its confirmation: [`prepare`], [`begin_confirm`], then [`settle`] or
//! [`fail`] once the provider answered.

use super::{TopUpRules, credit_transfer_id, day, month, receipts};
use crate::reconcile::receivable;
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

/// The refusal of a confirm of an order older than `TOPUP_ORDER_TTL_SECONDS`.
pub const ORDER_EXPIRED: &str = "ORDER_EXPIRED";

/// Longest `paymentKey` accepted (Toss Payments documents its keys as at most 200 characters).
pub const MAX_PAYMENT_KEY_CHARS: usize = 200;

/// Whether `key` can be a payment provider's payment key: 1 to [`MAX_PAYMENT_KEY_CHARS`] ASCII
/// letters, digits, `-` and `_`.
///
/// Toss Payments documents `paymentKey` as a string of at most 200 characters, and the `orderId`
/// it accepts as 6 to 64 letters, digits, `-` and `_`; the keys it issues are of that same
/// URL-safe alphabet (`tgen_…`, `5zJ4xY7m…`). Anything else (`.`, `..`, `/`, `%`, `?`, a space)
/// is no payment's key, and put into the provider's URL `/v1/payments/{paymentKey}` it would
/// name another resource (`..` climbs to `/v1/`, with our secret key).
pub fn is_payment_key(key: &str) -> bool {
    (1..=MAX_PAYMENT_KEY_CHARS).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// When an order made at `made_at` expires (`TOPUP_ORDER_TTL_SECONDS` later).
pub fn expires_at(made_at: DateTime<Utc>, rules: &TopUpRules) -> DateTime<Utc> {
    made_at
        .checked_add_signed(chrono::Duration::seconds(rules.order_ttl_seconds))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The order id of a top-up whose id is `id` (a UUIDv7 made at the order's creation): `ml-`
/// and its 32 hex digits, so the order's age can be read from the id alone ([`made_at`]), even
/// once the order was swept.
fn order_id_of(id: uuid::Uuid) -> String {
    format!("ml-{}", id.simple())
}

/// When the order `order_id` was made, if its id says ([`order_id_of`]; older orders' ids were
/// random and say nothing).
fn made_at(order_id: &str) -> Option<DateTime<Utc>> {
    let id = uuid::Uuid::try_parse(order_id.strip_prefix("ml-")?).ok()?;
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    DateTime::<Utc>::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

/// The refusal of a confirm of an order that expired at `at`.
fn expired(order_id: &str, at: DateTime<Utc>) -> LedgerError {
    LedgerError::Refused {
        code: ORDER_EXPIRED,
        message: format!(
            "order {order_id} expired unpaid at {} (TOPUP_ORDER_TTL_SECONDS after prepareTopUp): \
             nothing was charged or changed; prepare a new top-up",
            at.to_rfc3339()
        ),
        retry_at: None,
    }
}

/// Records an order of `amount_won` for `user_id` with `provider`, PREPARED, counting against
/// the daily limit of `limit_key` (the person or the user, as identity says: see
/// [`day`]), and when `minor` (identity says the caller is a verified minor) against the
/// minors' monthly limit too ([`month`]). Refused early (nothing written) when today's limit,
/// or a minor's month, could not take it: the limits are enforced again, under their locks,
/// when the confirm begins.
#[allow(clippy::too_many_arguments)]
pub async fn prepare(
    db: &DatabaseConnection,
    user_id: &str,
    limit_key: &str,
    minor: bool,
    amount_won: i64,
    provider: &str,
    rules: &TopUpRules,
    now: DateTime<Utc>,
) -> Result<top_up::Model, LedgerError> {
    let amount = Amount::within(amount_won, TOP_UP_MIN_WON, TOP_UP_MAX_WON)?;
    let today = day::usage(db, limit_key, rules.daily_limit_won, now).await?;
    if amount.get() > today.remaining_won {
        return Err(today.refusal(amount.get()));
    }
    if minor {
        let this_month = month::usage(db, limit_key, rules.minor_monthly_limit_won, now).await?;
        if amount.get() > this_month.remaining_won {
            return Err(this_month.refusal(amount.get()));
        }
    }
    let wallet = AccountId::wallet(Currency::Cash, user_id);
    let opened = missionlink_entities::missions::account::Entity::find_by_id(wallet.as_str())
        .one(db)
        .await?;
    if opened.is_none() {
        return Err(LedgerError::NotFound("this user has no wallet".into()));
    }
    // Both ids from the order's own instant, so its age can be read from its order id.
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(now.timestamp()).unwrap_or(0),
        now.timestamp_subsec_nanos(),
    ));
    let row = top_up::ActiveModel {
        order_id: Set(order_id_of(id)),
        id: Set(id.to_string()),
        user_id: Set(user_id.to_owned()),
        amount: Set(amount.get()),
        status: Set(TopUpStatus::Prepared),
        provider: Set(provider.to_owned()),
        payment_key: Set(None),
        kst_day: Set(None),
        limit_key: Set(Some(limit_key.to_owned())),
        minor: Set(minor),
        created_at: Set(now),
        confirming_at: Set(None),
        confirmed_at: Set(None),
        withdrawing_at: Set(None),
        withdrawn_at: Set(None),
        failure_code: Set(None),
        failure_message: Set(None),
        provider_cancelled_won: Set(0),
        withdrawn_won: Set(None),
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
/// `TOPUP_LIMIT_EXCEEDED`, nothing changed) and, for a minor's order, of the month's (refused
/// with `TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED`, nothing changed). An order already CONFIRMING with the same payment
/// (a retry after the provider did not answer) is asked again; one already settled is answered.
///
/// Refused before anything is read or written: a `payment_key` that is no provider's key
/// ([`is_payment_key`]: `BAD_USER_INPUT`). A PREPARED order older than
/// `TOPUP_ORDER_TTL_SECONDS` is [`ORDER_EXPIRED`] with nothing changed, and so is one already
/// swept (its age is in its order id). A payment key that another order holds is refused
/// without saying whose: only that it is not this order's.
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
    if !is_payment_key(payment_key) {
        return Err(LedgerError::invalid(
            "paymentKey",
            format!(
                "paymentKey must be 1 to {MAX_PAYMENT_KEY_CHARS} letters, digits, `-` or `_` (the \
             payment provider's keys): nothing was charged or changed"
            ),
        ));
    }
    let order = match own_order(db, user_id, order_id).await {
        Err(LedgerError::NotFound(m)) => {
            // Swept after it expired (or never made): an id old enough is answered as expired,
            // whoever's it was, so the answer says nothing about which orders exist.
            return Err(match made_at(order_id) {
                Some(made) if expires_at(made, rules) <= now => {
                    expired(order_id, expires_at(made, rules))
                }
                _ => LedgerError::NotFound(m),
            });
        }
        other => other?,
    };
    if order.status == TopUpStatus::Prepared && expires_at(order.created_at, rules) <= now {
        return Err(expired(order_id, expires_at(order.created_at, rules)));
    }
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
            // Whose order holds it is not the caller's to learn: only that it is not this one's.
            return Err(LedgerError::invalid(
                "paymentKey",
                "this paymentKey is not this order's payment: nothing was charged or changed",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if moved == 0 {
        txn.rollback().await?;
        return found(own_order(db, user_id, order_id).await?, payment_key);
    }
    // The key the order was prepared under: every account of one verified person shares it.
    let day = day::reserve(
        &txn,
        order.limit_key(),
        order.amount,
        rules.daily_limit_won,
        now,
    )
    .await?;
    // A minor's order: the month of the same day, under the person's month lock. The day's lock
    // is taken first, in every transaction that takes both, so two never wait on each other.
    if order.minor {
        month::reserve(
            &txn,
            order.limit_key(),
            &day,
            order.amount,
            rules.minor_monthly_limit_won,
            now,
        )
        .await?;
    }
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
    let credit_id = credit_transfer_id(&t.order_id);
    transfer::apply(
        &txn,
        &Transfer {
            id: credit_id.clone(),
            debit: AccountId::world(Currency::Cash),
            credit: AccountId::wallet(Currency::Cash, &t.user_id),
            amount: Amount::new(t.amount)?,
            kind: TransferKind::Topup,
        },
    )
    .await?;
    // What the user owes is paid back first (issue 26, item 4).
    receivable::repay(
        &txn,
        &[receivable::Credited {
            user_id: &t.user_id,
            amount: t.amount,
            transfer_id: &credit_id,
        }],
    )
    .await?;
    receipts::record(&txn, id, TopUpEvent::Confirmed, now).await?;
    txn.commit().await?;
    Ok((t, true))
}

/// The provider refused the payment of top-up `id` (CONFIRMING): FAILED with the provider's
/// code and message, the day's reservation released (and a minor's month's). Nothing was credited. Returns the top-up
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
    day::release(&txn, t.limit_key(), &day, t.amount).await?;
    if t.minor {
        month::release(&txn, t.limit_key(), &day, t.amount).await?;
    }
    txn.commit().await?;
    Ok((t, true))
}

/// Deletes at most `limit` orders still PREPARED `TOPUP_ORDER_TTL_SECONDS` after they were made,
/// the oldest first; how many. Such an order reserved nothing (the day's limit is reserved when
/// a confirm begins), holds no payment key, and no transfer or receipt names it, so nothing else
/// changes; its confirm is refused ([`ORDER_EXPIRED`]) before and after (its age is in its
/// order id). Deleting rather than marking keeps the table to the orders that did something:
/// abandoned orders leave no rows behind. (Marking would also break the table's rule that a
/// top-up past PREPARED names its payment and day.)
pub async fn sweep_expired<C: ConnectionTrait>(
    db: &C,
    rules: &TopUpRules,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<u64, LedgerError> {
    use sea_orm::sea_query::Query;
    let cutoff = now
        .checked_sub_signed(chrono::Duration::seconds(rules.order_ttl_seconds))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let oldest = Query::select()
        .column(top_up::Column::Id)
        .from(top_up::Entity)
        .and_where(top_up::Column::Status.eq(TopUpStatus::Prepared))
        .and_where(top_up::Column::CreatedAt.lte(cutoff))
        .order_by(top_up::Column::CreatedAt, sea_orm::Order::Asc)
        .limit(limit)
        .to_owned();
    // Conditional on PREPARED in the statement itself: an order whose confirm began meanwhile
    // (CONFIRMING, the limit reserved) is never deleted.
    Ok(top_up::Entity::delete_many()
        .filter(top_up::Column::Id.in_subquery(oldest))
        .filter(top_up::Column::Status.eq(TopUpStatus::Prepared))
        .filter(top_up::Column::CreatedAt.lte(cutoff))
        .exec(db)
        .await?
        .rows_affected)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_keys_are_the_providers_alphabet_only() {
        assert!(is_payment_key("tgen_20261126abcDEF-12"));
        assert!(is_payment_key(&"k".repeat(MAX_PAYMENT_KEY_CHARS)));
        for bad in [
            "",
            ".",
            "..",
            "%2e%2e",
            "a/b",
            "a\\b",
            "a?b",
            "a b",
            "키",
            "a\u{0}",
            &"k".repeat(MAX_PAYMENT_KEY_CHARS + 1),
        ] {
            assert!(!is_payment_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_order_id_tells_when_it_was_made() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T10:00:00.123Z")
            .expect("time")
            .with_timezone(&Utc);
        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            u64::try_from(at.timestamp()).expect("after 1970"),
            at.timestamp_subsec_nanos(),
        ));
        let made = made_at(&order_id_of(id)).expect("a v7 order id");
        assert_eq!(made.timestamp_millis(), at.timestamp_millis());
        // Older orders' random ids, and anything else, say nothing.
        let v4 = format!("ml-{}", uuid::Uuid::new_v4().simple());
        assert_eq!(made_at(&v4), None);
        assert_eq!(made_at("ml-nope"), None);
        assert_eq!(made_at("order-1"), None);
    }
}
