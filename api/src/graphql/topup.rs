//! Top-ups through the payment provider: `prepareTopUp`, `confirmTopUp`, `cancelTopUp`, and on
//! the caller's `wallet` their `topUps` and `topUpLimit` (`crate::topups` does the work).

use super::connection::{List, PageArgs, list};
use super::context::{caller, client_addr, identified_caller, state};
use super::money::Won;
use super::status::TopUpStatus;
use crate::card_testing;
use crate::error::{ApiError, GqlResult};
use crate::state::AppState;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::top_up as top_up_row;
use missionlink_identity::persons::LimitKey;
use missionlink_identity::throttle;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::status::TopUpStatus as TopUpStatusRow;
use missionlink_ledger::topup::{self as domain, customer, day, list as top_up_list, month};

/// A top-up through the payment provider.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct TopUp {
    pub id: ID,
    /// Ours, handed to the provider's widget as `orderId`.
    pub order_id: String,
    pub amount: Won,
    pub status: TopUpStatus,
    /// `sandbox` or `toss`.
    pub provider: String,
    pub created_at: DateTime<Utc>,
    /// When the payment was taken and the wallet credited.
    pub confirmed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Won its withdrawal takes (all of it, or the part asked for); null until one begins.
    pub withdrawn_amount: Option<Won>,
    /// The provider's code when it refused the payment (FAILED) or its cancel.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl TryFrom<top_up_row::Model> for TopUp {
    type Error = ApiError;

    fn try_from(t: top_up_row::Model) -> Result<Self, ApiError> {
        let withdrawn_amount = matches!(
            t.status,
            TopUpStatusRow::Withdrawing | TopUpStatusRow::Withdrawn
        )
        .then(|| Won::of(t.withdrawal_won(), "withdrawn amount"))
        .transpose()?;
        Ok(Self {
            amount: Won::of(t.amount, "top-up amount")?,
            status: t.status.into(),
            order_id: t.order_id,
            provider: t.provider,
            created_at: t.created_at,
            confirmed_at: t.confirmed_at,
            withdrawn_at: t.withdrawn_at,
            withdrawn_amount,
            failure_code: t.failure_code,
            failure_message: t.failure_message,
            id: ID(t.id),
        })
    }
}

#[async_graphql::ComplexObject]
impl TopUp {
    /// Until when `cancelTopUp` may withdraw it (`TOPUP_WITHDRAWAL_DAYS` after payment); null
    /// unless it is CONFIRMED.
    async fn withdrawable_until(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        match (self.status, self.confirmed_at) {
            (TopUpStatus::Confirmed, Some(at)) => Some(domain::withdrawable_until(
                at,
                &state(ctx).settings.topups.rules,
            )),
            _ => None,
        }
    }
}

/// What the client hands the provider's payment widget.
#[derive(SimpleObject, Clone, Debug)]
pub struct TopUpOrder {
    /// The widget's `orderId`, then `confirmTopUp`'s.
    pub order_id: String,
    /// The widget's `orderName`.
    pub order_name: String,
    /// The widget's `amount`, in won; `confirmTopUp` must send the same.
    pub amount: Won,
    /// The widget's `customerKey`: a random key of the caller's, the same on every order, kept
    /// by the server (never the caller's public id).
    pub customer_key: String,
    /// The top-up this order becomes (PREPARED).
    pub top_up: TopUp,
}

/// The caller's daily top-up limit (`TOPUP_DAILY_LIMIT_WON`, per Asia/Seoul calendar day),
/// shared by every account of one verified person.
#[derive(SimpleObject, Clone, Debug)]
pub struct TopUpLimit {
    pub limit: Won,
    /// Topped up today (Asia/Seoul), confirms under way included, by every account of the
    /// caller's verified person.
    pub used_today: Won,
    pub remaining_today: Won,
    /// The next midnight in Asia/Seoul, when the day's total starts again at zero.
    pub resets_at: DateTime<Utc>,
    /// A verified minor's monthly limit (`TOPUP_MINOR_MONTHLY_LIMIT_WON`, per Asia/Seoul
    /// calendar month), which their top-ups must fit as well as the day's; null for an adult
    /// (or an unverified caller).
    pub monthly: Option<MonthlyTopUpLimit>,
}

/// A minor's monthly top-up limit (under 19, with a guardian's consent).
#[derive(SimpleObject, Clone, Debug)]
pub struct MonthlyTopUpLimit {
    pub limit: Won,
    /// Topped up this month (Asia/Seoul), confirms under way included.
    pub used_this_month: Won,
    pub remaining_this_month: Won,
    /// The first midnight of next month in Asia/Seoul, when the month's total starts again at
    /// zero.
    pub resets_at: DateTime<Utc>,
}

/// `Wallet.topUps`: `user_id`'s top-ups, newest first, of `status` if given.
pub(super) async fn top_ups(
    ctx: &Context<'_>,
    user_id: &str,
    status: Option<TopUpStatus>,
    args: PageArgs,
) -> GqlResult<List<TopUp>> {
    Ok(list(
        &state(ctx).db.missions,
        top_up_list::top_ups(user_id, status.map(Into::into)),
        &top_up_list::top_up_order(true),
        &args,
    )
    .await?)
}

/// `Wallet.topUpLimit`.
pub(super) async fn top_up_limit(ctx: &Context<'_>, user_id: &str) -> GqlResult<TopUpLimit> {
    let app = state(ctx);
    let limit = missionlink_identity::persons::limit_key(&app.db.users, user_id)
        .await
        .map_err(ApiError::from)?;
    let rules = &app.settings.topups.rules;
    let now = Utc::now();
    let used = day::usage(&app.db.missions, &limit.key, rules.daily_limit_won, now)
        .await
        .map_err(ApiError::from)?;
    let monthly = if limit.minor {
        let m = month::usage(
            &app.db.missions,
            &limit.key,
            rules.minor_monthly_limit_won,
            now,
        )
        .await
        .map_err(ApiError::from)?;
        Some(MonthlyTopUpLimit {
            limit: Won::of(m.limit_won, "monthly limit")?,
            used_this_month: Won::of(m.used_won, "topped up this month")?,
            remaining_this_month: Won::of(m.remaining_won, "remaining this month")?,
            resets_at: m.resets_at,
        })
    } else {
        None
    };
    Ok(TopUpLimit {
        limit: Won::of(used.limit_won, "daily limit")?,
        used_today: Won::of(used.used_won, "topped up today")?,
        remaining_today: Won::of(used.remaining_won, "remaining today")?,
        resets_at: used.resets_at,
        monthly,
    })
}

/// `prepareTopUp` under its per-user throttle (`TOPUP_PREPARE_MAX_PER_USER` orders per
/// `TOPUP_PREPARE_WINDOW_SECONDS`, the users database's attempt counters shared by every API
/// process): the order is counted before any work, so requests sent at once cannot pass it
/// together, and given back when none was made (a refused amount, the day's limit). Refused:
/// `RATE_LIMITED` with `retryAt` (the window's end), nothing written.
async fn prepare_throttled(
    app: &AppState,
    user_id: &str,
    counted: &LimitKey,
    amount_won: i64,
) -> Result<top_up_row::Model, ApiError> {
    let limit = app.settings.topups.prepare_throttle;
    let bucket = format!("topup-prepare:{user_id}");
    let users = &app.db.users;
    let Some(attempt) =
        throttle::acquire(users, &bucket, limit.max_per_user, limit.window_seconds).await?
    else {
        return Err(ApiError::Refused {
            code: "RATE_LIMITED",
            message: format!(
                "at most {} top-up orders per {} seconds: confirm one you made, or try again \
                 at retryAt",
                limit.max_per_user, limit.window_seconds
            ),
            retry_at: throttle::window_ends(users, &bucket, limit.window_seconds).await?,
        });
    };
    let made = crate::topups::prepare(app, user_id, &counted.key, counted.minor, amount_won).await;
    if made.is_err() {
        throttle::release(users, &attempt).await?;
    }
    made
}

#[derive(Default)]
pub struct TopUpMutation;

#[Object]
impl TopUpMutation {
    /// Orders a top-up of `amount` won (1,000 to 1,000,000) through the payment provider: hand
    /// the answer to its payment widget, then call `confirmTopUp` within
    /// `TOPUP_ORDER_TTL_SECONDS` (else `ORDER_EXPIRED`; the order is then deleted). Refused early
    /// with `TOPUP_LIMIT_EXCEEDED` when today's limit could not take it, and with `RATE_LIMITED`
    /// (`extensions.retryAt`) past `TOPUP_PREPARE_MAX_PER_USER` orders in
    /// `TOPUP_PREPARE_WINDOW_SECONDS`. With `TOPUP_REQUIRES_IDENTITY` (the default), an
    /// unverified caller is refused `IDENTITY_REQUIRED` first (`verifyIdentity`); the limit is
    /// the verified person's, across their accounts. A verified minor (under 19) is refused
    /// `GUARDIAN_CONSENT_REQUIRED` until a guardian consented (`recordGuardianConsent`), and
    /// with `TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED` when this month's minors' limit could not take
    /// it. Nothing is charged yet.
    async fn prepare_top_up(&self, ctx: &Context<'_>, amount: i32) -> GqlResult<TopUpOrder> {
        let (claims, limit) = identified_caller(ctx).await?;
        let app = state(ctx);
        let work = prepare_throttled(app, &claims.sub, &limit, i64::from(amount));
        let t = card_testing::guarded(app, &claims.sub, client_addr(ctx), work).await?;
        let customer_key = customer::key_of(&app.db.missions, &claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(TopUpOrder {
            order_id: t.order_id.clone(),
            order_name: format!("MissionLink 캐시 충전 {}원", t.amount),
            amount: Won::of(t.amount, "top-up amount")?,
            customer_key,
            top_up: TopUp::try_from(t)?,
        })
    }

    /// Confirms a paid order: the server checks `paymentKey` (1 to 200 letters, digits, `-`,
    /// `_`, the provider's keys; else `BAD_USER_INPUT`), that the order is not older than
    /// `TOPUP_ORDER_TTL_SECONDS` (else `ORDER_EXPIRED`) and `amount` against the order (else
    /// `TOPUP_AMOUNT_MISMATCH`), each refusal with nothing changed and the provider not asked;
    /// then it reserves today's limit
    /// (`TOPUP_LIMIT_EXCEEDED`) and a minor's month's (`TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED`),
    /// asks the provider to take the payment `paymentKey`, and
    /// credits the wallet once. Confirming a confirmed order answers it again. `PAYMENT_FAILED`:
    /// the provider refused (its code in `extensions.providerCode`); `PAYMENT_PENDING`: it did
    /// not answer — call again with the same arguments, or the provider's webhook settles it;
    /// `PAYMENT_UNDER_REVIEW`: the provider describes the payment otherwise than the order
    /// (another amount or order) — nothing is credited, the top-up is `FAILED`
    /// (`PROVIDER_MISMATCH`) and an operator settles it with the provider.
    async fn confirm_top_up(
        &self,
        ctx: &Context<'_>,
        order_id: String,
        payment_key: String,
        amount: i32,
    ) -> GqlResult<TopUp> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let work = crate::topups::confirm(
            app,
            &claims.sub,
            order_id.trim(),
            payment_key.trim(),
            i64::from(amount),
        );
        let t = card_testing::guarded(app, &claims.sub, client_addr(ctx), work).await?;
        Ok(TopUp::try_from(t)?)
    }

    /// Withdraws a top-up (KCC guideline: unspent top-ups within `TOPUP_WITHDRAWAL_DAYS` of
    /// payment): `amount` won of it (all of it when left out; 1 to its amount, else
    /// `BAD_USER_INPUT`) leave the wallet and the provider cancels that much of the payment
    /// (Toss `cancelAmount`). One withdrawal per top-up. Refused with
    /// `WITHDRAWAL_WINDOW_CLOSED`, `TOPUP_ALREADY_SPENT` (the wallet does not hold that much;
    /// the message says how much it could withdraw) or `WITHDRAWAL_REFUSED`; a withdrawn top-up
    /// is answered as it is. Idempotent per `idempotencyKey`.
    async fn cancel_top_up(
        &self,
        ctx: &Context<'_>,
        top_up_id: ID,
        idempotency_key: String,
        amount: Option<i32>,
    ) -> GqlResult<TopUp> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let t = crate::topups::cancel(
            app,
            &claims.sub,
            top_up_id.as_str(),
            amount.map(i64::from),
            &key,
        )
        .await?;
        Ok(TopUp::try_from(t)?)
    }
}
