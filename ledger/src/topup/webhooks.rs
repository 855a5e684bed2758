//! What the payment provider's webhook deliveries leave in the money database (issue 23):
//!
//! - the replay record (`payment_webhook_events`): a delivery id recorded once handled is
//!   answered and ignored when it comes again. Only deliveries that named one of our orders are
//!   recorded, every field bounded ([`record`]), so strangers cannot fill the table;
//! - the look-up throttle (`payment_webhook_lookups`): a delivery makes us look its payment up
//!   at the provider at most once per order per `PAYMENT_WEBHOOK_LOOKUP_INTERVAL_SECONDS`
//!   ([`may_look_up`]);
//! - discrepancies (`payment_discrepancies`): the provider's word that disagrees with our order,
//!   kept for an operator ([`discrepancy`]).

use crate::LedgerError;
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{payment_discrepancy, payment_webhook_event};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, Statement};

/// Longest event type stored (Toss's are short upper-case names; longer ones are cut).
pub const MAX_EVENT_TYPE_CHARS: usize = 64;

/// Whether the delivery `event_id` was handled before.
pub async fn seen<C: ConnectionTrait>(db: &C, event_id: &str) -> Result<bool, LedgerError> {
    Ok(
        payment_webhook_event::Entity::find_by_id(event_id.to_owned())
            .one(db)
            .await?
            .is_some(),
    )
}

/// `s` cut to at most `max` characters.
fn bounded(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Records the delivery `event_id` about our order `order_id` as handled (once; a second
/// record changes nothing). The caller passes only a delivery id and a payment key it has
/// validated; the event type is cut to [`MAX_EVENT_TYPE_CHARS`].
pub async fn record<C: ConnectionTrait>(
    db: &C,
    event_id: &str,
    event_type: &str,
    payment_key: Option<&str>,
    order_id: &str,
) -> Result<(), LedgerError> {
    payment_webhook_event::Entity::insert(payment_webhook_event::ActiveModel {
        event_id: Set(event_id.to_owned()),
        event_type: Set(bounded(event_type, MAX_EVENT_TYPE_CHARS)),
        payment_key: Set(payment_key.map(str::to_owned)),
        order_id: Set(Some(order_id.to_owned())),
        received_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Counts a look-up of order `order_id`'s payment at `now` and says whether it may go ahead:
/// `false` when one went ahead less than `interval_seconds` ago (nothing is counted then). One
/// statement, so deliveries racing on several API processes let one through.
pub async fn may_look_up<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
    interval_seconds: i64,
    now: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    let backend = db.get_database_backend();
    let now = now.timestamp();
    let text = format!(
        "INSERT INTO payment_webhook_lookups (order_id, looked_up_unix) VALUES ({p1}, {p2}) \
         ON CONFLICT (order_id) DO UPDATE SET looked_up_unix = {p2} \
         WHERE payment_webhook_lookups.looked_up_unix <= {p3} \
         RETURNING order_id",
        p1 = numbered(backend, 1),
        p2 = numbered(backend, 2),
        p3 = numbered(backend, 3),
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            &text,
            [
                order_id.into(),
                now.into(),
                now.saturating_sub(interval_seconds).into(),
            ],
        ))
        .await?;
    Ok(row.is_some())
}

/// The `i`-th parameter, numbered on both backends (`$2`, `?2`): this statement uses one twice.
fn numbered(backend: sea_orm::DatabaseBackend, i: usize) -> String {
    match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${i}"),
        _ => format!("?{i}"),
    }
}

/// What the provider said about a top-up's payment, when it disagrees with our order.
#[derive(Clone, Debug)]
pub struct ProviderWord<'a> {
    pub payment_key: &'a str,
    pub order_id: &'a str,
    pub status: &'a str,
    pub amount_won: i64,
}

/// Keeps the provider's disagreeing word about top-up `top_up_id` (of order `order_id`) for an
/// operator, once per top-up and payment (its id is theirs): whether this call recorded it. The
/// record outlives the top-up (an expired order is deleted by the sweep), so it names both.
pub async fn discrepancy<C: ConnectionTrait>(
    db: &C,
    top_up_id: &str,
    order_id: &str,
    word: &ProviderWord<'_>,
) -> Result<bool, LedgerError> {
    let row = payment_discrepancy::Model {
        id: format!("{top_up_id}:{}", bounded(word.payment_key, 200)),
        top_up_id: top_up_id.to_owned(),
        order_id: order_id.to_owned(),
        payment_key: bounded(word.payment_key, 200),
        provider_order_id: bounded(word.order_id, 200),
        provider_status: bounded(word.status, MAX_EVENT_TYPE_CHARS),
        provider_amount: word.amount_won,
        found_at: Utc::now(),
    };
    let inserted = payment_discrepancy::Entity::insert(payment_discrepancy::ActiveModel::from(row))
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}
