//! Top-ups through the payment provider: what happens between the ledger's steps
//! (`missionlink_ledger::topup`) and the provider's answers. Callable without GraphQL; the
//! resolvers (`graphql/topup.rs`) and the webhook route (`http.rs`) are thin over it.
//!
//! - `confirm`: the ledger checks the amount and reserves the day's limit (CONFIRMING), then
//!   the provider is asked; DONE settles (credit), a refusal fails it (`PAYMENT_FAILED`, the
//!   reservation released), no answer leaves it CONFIRMING (`PAYMENT_PENDING`: confirm again
//!   with the same arguments, or the webhook settles it).
//! - `cancel`: the ledger debits the wallet (WITHDRAWING), then the provider is asked to
//!   cancel; CANCELED finishes it, a refusal gives the won back (`WITHDRAWAL_REFUSED`), no
//!   answer leaves it WITHDRAWING (`PAYMENT_PENDING`: cancel again, or the webhook finishes it).
//! - `webhook`: a verified delivery names a payment; the provider's own look-up of it decides.

use crate::error::{ApiError, ApiResult};
use crate::payments::webhook::{self, Event, ID_HEADER, SIGNATURE_HEADER, TIME_HEADER};
use crate::payments::{PaymentError, PaymentProvider, PaymentStatus, settle};
use crate::state::AppState;
use chrono::Utc;
use missionlink_entities::missions::top_up;
use missionlink_ledger::LedgerError;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::status::{CaseKind, TopUpStatus};
use missionlink_ledger::topup::{order, withdraw};
use missionlink_telemetry::metrics;
use std::sync::Arc;

/// The code of a step the provider did not answer: it stays where it is, safe to repeat.
pub const PAYMENT_PENDING: &str = "PAYMENT_PENDING";
/// The code of a confirm whose payment the provider describes otherwise than the order
/// (another amount or order): nothing credited, the top-up FAILED, an operator settles it.
pub const UNDER_REVIEW: &str = "PAYMENT_UNDER_REVIEW";

/// The provider, or `FORBIDDEN` when top-ups through a provider are off.
pub fn provider(app: &AppState) -> ApiResult<&Arc<dyn PaymentProvider>> {
    app.payments.as_ref().ok_or_else(|| {
        ApiError::Forbidden(
            "top-ups through a payment provider are not available: PAYMENT_PROVIDER is none".into(),
        )
    })
}

/// `prepareTopUp`: an order of `amount_won` for the caller, counted against the daily limit of
/// `limit_key` (identity's `persons::limit_key`), and a `minor`'s against the month's too.
pub async fn prepare(
    app: &AppState,
    user_id: &str,
    limit_key: &str,
    minor: bool,
    amount_won: i64,
) -> ApiResult<top_up::Model> {
    let provider = provider(app)?;
    Ok(order::prepare(
        &app.db.missions,
        user_id,
        limit_key,
        minor,
        amount_won,
        provider.name(),
        &app.settings.topups.rules,
        Utc::now(),
    )
    .await?)
}

/// `confirmTopUp`: takes the payment and credits the wallet once.
pub async fn confirm(
    app: &AppState,
    user_id: &str,
    order_id: &str,
    payment_key: &str,
    amount_won: i64,
) -> ApiResult<top_up::Model> {
    let provider = provider(app)?;
    let begun = order::begin_confirm(
        &app.db.missions,
        user_id,
        order_id,
        payment_key,
        amount_won,
        provider.name(),
        &app.settings.topups.rules,
        Utc::now(),
    )
    .await
    .inspect_err(|e| {
        if matches!(e, LedgerError::LimitExceeded { .. }) {
            metrics().topup("LIMIT_EXCEEDED");
        }
    })?;
    let t = match begun {
        order::Begun::Settled(t) => return Ok(t),
        order::Begun::Ask(t) => t,
    };
    confirmed(
        &t,
        settle::confirm(&app.db.missions, provider.as_ref(), &t).await?,
    )
}

/// The client's answer for a confirm that ended as `outcome`.
fn confirmed(t: &top_up::Model, outcome: settle::Confirmed) -> ApiResult<top_up::Model> {
    match outcome {
        settle::Confirmed::Settled(t) => Ok(*t),
        settle::Confirmed::Failed { code, message } => Err(ApiError::PaymentFailed {
            message: format!("the payment provider refused the payment: {message}"),
            provider_code: code,
        }),
        settle::Confirmed::Disagrees(message) => Err(ApiError::Refused {
            code: UNDER_REVIEW,
            message,
            retry_at: None,
        }),
        settle::Confirmed::Pending(why) => {
            tracing::warn!(top_up = %t.id, %why, "payment confirm without an answer");
            Err(pending(
                "the payment provider did not answer; nothing is credited yet. Call \
                 confirmTopUp again with the same arguments, or wait: the top-up settles when \
                 the provider reports the payment",
            ))
        }
    }
}

fn pending(message: &str) -> ApiError {
    ApiError::Refused {
        code: PAYMENT_PENDING,
        message: message.to_owned(),
        retry_at: None,
    }
}

/// `cancelTopUp`: withdraws `amount` won (all when `None`) of a confirmed top-up, unspent,
/// within the window.
pub async fn cancel(
    app: &AppState,
    user_id: &str,
    id: &str,
    amount: Option<i64>,
    key: &IdempotencyKey,
) -> ApiResult<top_up::Model> {
    let db = &app.db.missions;
    // The provider that can give the payment back is settled first: a server that cannot ask it
    // (`PAYMENT_PROVIDER=none`, or another provider) refuses before any won leave the wallet.
    let own = missionlink_ledger::topup::find_own(db, user_id, id).await?;
    for_top_up(app, &own)?;
    let begun = withdraw::begin(
        db,
        user_id,
        id,
        amount,
        key,
        &app.settings.topups.rules,
        Utc::now(),
    )
    .await?;
    let t = match begun {
        withdraw::Begun::Done(t) => return Ok(t),
        withdraw::Begun::Ask(t) => t,
    };
    let provider = for_top_up(app, &t)?;
    let reason = settle::cancel_reason(app.settings.topups.rules.withdrawal_days);
    match settle::cancel(db, provider.as_ref(), &t, &reason).await? {
        settle::Cancelled::Withdrawn(t) => Ok(*t),
        settle::Cancelled::Refused { code, message } => Err(ApiError::Refused {
            code: withdraw::REFUSED,
            message: format!(
                "the payment provider refused to cancel this payment ({code}: {message}); the \
                 won are back in your wallet"
            ),
            retry_at: None,
        }),
        settle::Cancelled::Pending(why) => {
            tracing::warn!(top_up = %t.id, %why, "payment cancel without an answer");
            Err(pending(
                "the payment provider did not answer; the won are held out of your wallet until \
                 it does. Call cancelTopUp again to finish",
            ))
        }
    }
}

/// The provider a top-up was made with: the configured one, if it is the same.
fn for_top_up<'a>(app: &'a AppState, t: &top_up::Model) -> ApiResult<&'a Arc<dyn PaymentProvider>> {
    let provider = provider(app)?;
    if provider.name() == t.provider {
        Ok(provider)
    } else {
        Err(ApiError::InvalidState(format!(
            "this top-up was paid through {}, which this server is not configured for",
            t.provider
        )))
    }
}

/// How the webhook route answers a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookAnswer {
    /// 200: handled (or a replay, or nothing of ours).
    Handled,
    /// 401: not believed; nothing read.
    Unauthorized(String),
    /// 400: believed but unreadable.
    BadRequest(String),
    /// 429: too many deliveries from this client, or this order's payment was looked up less
    /// than `PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS` ago; nothing stored, the provider sends it
    /// again later.
    TooMany { retry_after_seconds: i64 },
    /// 503: could not finish now; the provider retries.
    RetryLater,
}

/// `POST /payments/webhook` from `client`: throttled per client, verified, and acted on only
/// through the provider's own look-up of the payment it names, at most once per order per
/// `PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS`. Only a delivery that names one of our orders is
/// recorded (bounded); refusals name no type or parser position.
pub async fn webhook(
    app: &AppState,
    client: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> WebhookAnswer {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Ok(provider), Some(secret)) = (provider(app), app.settings.topups.webhook_secret.as_ref())
    else {
        return WebhookAnswer::Unauthorized("no webhook is configured".into());
    };
    let topups = &app.settings.topups;
    if let Err(retry_after_seconds) = app.webhook_clients.check(client) {
        return WebhookAnswer::TooMany {
            retry_after_seconds,
        };
    }
    let tolerance = chrono::Duration::seconds(topups.webhook_tolerance_seconds);
    // Toss does not sign its payment-status deliveries. One without a signature (and without
    // its time) is taken as a hint: it changes nothing by itself, only makes us look the
    // payment up at the provider (with our secret key) and act on that answer, as Toss
    // advises. One that carries a signature must carry a valid, fresh one.
    let unsigned = header(SIGNATURE_HEADER).is_none() && header(TIME_HEADER).is_none();
    if unsigned {
        tracing::debug!("unsigned webhook delivery: acted on only through the provider's look-up");
    } else if let Err(why) = webhook::verify(
        secret.as_bytes(),
        header(SIGNATURE_HEADER),
        header(TIME_HEADER),
        body,
        Utc::now(),
        tolerance,
    ) {
        tracing::warn!(%why, "webhook delivery refused");
        return WebhookAnswer::Unauthorized(why.to_string());
    }
    let Some(event_id) = header(ID_HEADER)
        .filter(|id| !id.is_empty() && id.chars().count() <= webhook::MAX_ID_CHARS)
    else {
        return WebhookAnswer::BadRequest(format!(
            "missing header {ID_HEADER} (1 to {} characters)",
            webhook::MAX_ID_CHARS
        ));
    };
    let Ok(event) = serde_json::from_slice::<Event>(body) else {
        return WebhookAnswer::BadRequest(
            "unreadable event: expected a JSON object with eventType and data".into(),
        );
    };
    let db = &app.db.missions;
    match missionlink_ledger::topup::webhooks::seen(db, event_id).await {
        Ok(true) => return WebhookAnswer::Handled,
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, "webhook replay record unreadable");
            return WebhookAnswer::RetryLater;
        }
    }
    let order = match ours(app, provider.as_ref(), &event).await {
        Ok(Some(found)) => found,
        // Names nothing of ours: answered, stored nowhere.
        Ok(None) => return WebhookAnswer::Handled,
        Err(e) => {
            tracing::warn!(error = ?e, "webhook delivery not handled; the provider will retry");
            return WebhookAnswer::RetryLater;
        }
    };
    match missionlink_ledger::topup::webhooks::may_look_up(
        db,
        &order.top_up.order_id,
        topups.webhook_lookup_interval_seconds,
        Utc::now(),
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => {
            return WebhookAnswer::TooMany {
                retry_after_seconds: topups.webhook_lookup_interval_seconds,
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook look-up throttle unreadable");
            return WebhookAnswer::RetryLater;
        }
    }
    match handle(app, provider.as_ref(), &order).await {
        Ok(()) => {
            if let Err(e) = missionlink_ledger::topup::webhooks::record(
                db,
                event_id,
                &event.event_type,
                Some(&order.payment_key),
                &order.top_up.order_id,
            )
            .await
            {
                tracing::warn!(error = %e, "webhook handled but not recorded");
            }
            WebhookAnswer::Handled
        }
        Err(e) => {
            tracing::warn!(error = ?e, "webhook delivery not handled; the provider will retry");
            WebhookAnswer::RetryLater
        }
    }
}

/// A delivery that names one of our orders: the top-up, and the payment key it names.
struct Named {
    top_up: top_up::Model,
    payment_key: String,
}

/// The top-up a delivery names, if it is a payment-status change naming a well-formed payment
/// key and one of our orders made with this provider.
async fn ours(
    app: &AppState,
    provider: &dyn PaymentProvider,
    event: &Event,
) -> Result<Option<Named>, ApiError> {
    if event.event_type != webhook::PAYMENT_STATUS_CHANGED {
        return Ok(None);
    }
    let (Some(order_id), Some(payment_key)) = (&event.data.order_id, &event.data.payment_key)
    else {
        return Ok(None);
    };
    if !order::is_payment_key(payment_key) || order_id.chars().count() > 200 {
        return Ok(None);
    }
    let Some(t) = order::by_order(&app.db.missions, order_id).await? else {
        return Ok(None);
    };
    if t.provider != provider.name() {
        return Ok(None);
    }
    // Once an order has its payment, a delivery naming another key says nothing about it: no
    // look-up (and no use of the order's look-up slot, which the real delivery needs).
    if t.payment_key.as_deref().is_some_and(|k| k != payment_key) {
        return Ok(None);
    }
    Ok(Some(Named {
        top_up: t,
        payment_key: payment_key.clone(),
    }))
}

/// Acts on one delivery about our order: the payment as the provider has it now.
async fn handle(
    app: &AppState,
    provider: &dyn PaymentProvider,
    named: &Named,
) -> Result<(), ApiError> {
    let db = &app.db.missions;
    let t = &named.top_up;
    let order_id = t.order_id.as_str();
    let p = match provider.payment(&named.payment_key).await {
        Ok(p) => p,
        Err(PaymentError::Refused { code, message, .. }) => {
            tracing::warn!(%code, %message, order_id, "webhook names a payment the provider does not know");
            return Ok(());
        }
        Err(PaymentError::Unavailable(why)) => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "payment look-up: {why}"
            )));
        }
    };
    let own_key = t.payment_key.as_deref() == Some(p.payment_key.as_str());
    match (t.status, p.status) {
        // A hint whose payment is another order's says nothing about this one.
        _ if p.order_id != t.order_id && !own_key => {
            tracing::warn!(order_id, "webhook's payment is not this order's");
            Ok(())
        }
        (TopUpStatus::Prepared, PaymentStatus::Done) => {
            // Taken without our confirm's answer ever arriving: confirm it the usual way
            // (limit included), then settle.
            match order::begin_confirm(
                db,
                &t.user_id,
                &t.order_id,
                &p.payment_key,
                t.amount,
                provider.name(),
                &app.settings.topups.rules,
                Utc::now(),
            )
            .await
            {
                Ok(order::Begun::Ask(t)) => settle::on_payment(db, &t, &p)
                    .await
                    .map(|_| ())
                    .map_err(Into::into),
                Ok(order::Begun::Settled(_)) => Ok(()),
                // Taken past the day's limit, or for an order past TOPUP_ORDER_TTL_SECONDS
                // (confirmed outside this server: ours never confirms an expired order): never
                // credited, kept for an operator to refund, answered so the provider stops
                // resending.
                Err(
                    LedgerError::LimitExceeded { .. }
                    | LedgerError::Refused {
                        code: order::ORDER_EXPIRED,
                        ..
                    },
                ) => settle::keep_disagreement(db, t, &p, CaseKind::OverLimit)
                    .await
                    .map(|_| ())
                    .map_err(Into::into),
                Err(e) => Err(e.into()),
            }
        }
        (TopUpStatus::Confirming, _) => settle::on_payment(db, t, &p)
            .await
            .map(|_| ())
            .map_err(Into::into),
        // Taken for a top-up that had failed: nothing credited; kept for an operator.
        (TopUpStatus::Failed, PaymentStatus::Done) if own_key => settle::disagree(db, t, &p)
            .await
            .map(|_| ())
            .map_err(Into::into),
        (TopUpStatus::Withdrawing, _) if own_key && settle::withdrawn_at_provider(t, &p) => {
            settle::finish(db, &t.id).await?;
            // Anything cancelled beyond the withdrawal meanwhile is a case.
            settle::cancelled_at_provider(db, t, &p)
                .await
                .map_err(Into::into)
        }
        (
            TopUpStatus::Confirmed | TopUpStatus::Withdrawn,
            PaymentStatus::Canceled | PaymentStatus::PartialCanceled,
        ) if own_key => {
            // Refunded at the provider outside cancelTopUp (its console, the card issuer): the
            // wallet still holds the won, which may be spent already. Not undone here: a
            // reconciliation case for an operator, once per cancel.
            settle::cancelled_at_provider(db, t, &p)
                .await
                .map_err(Into::into)
        }
        _ => Ok(()),
    }
}
