//! Streamers' webhooks (issue 29): what a streamer registers (an endpoint, the feed event kinds
//! it takes, a signing secret) and the durable cursor its deliveries advance. The sending is
//! the API's (`missionlink_api::webhooks`): the ledger never talks to the network, and checks no
//! address; it keeps the rows, the limit per streamer, and who may touch which webhook.
//!
//! A webhook starts at its streamer's newest event: it is sent what happens after it was made.
//! Its cursor `delivered_seq` only moves forward, past an event once that event was delivered
//! (the receiver answered 2xx) or is not a kind it takes, so every event it takes is delivered
//! at least once, in `seq` order; `<streamerId>:<seq>` is the receiver's deduplication key.

pub mod delivery;

use crate::LedgerError;
use crate::events;
use crate::status::{EventKind, WebhookStatus};
use chrono::{DateTime, SubsecRound, Utc};
use missionlink_entities::missions::{webhook, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

/// Most characters of a webhook's description.
pub const DESCRIPTION_MAX_CHARS: usize = 200;
/// Most characters of a webhook's URL.
pub const URL_MAX_CHARS: usize = 2_000;

/// A webhook to register. Its `url` was checked by the caller (scheme, target); its `secret`
/// made by the caller.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub streamer_id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<EventKind>,
    pub secret: String,
}

/// Now, to the microsecond the databases keep.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The event kinds a webhook takes.
pub fn kinds(w: &webhook::Model) -> Result<Vec<EventKind>, LedgerError> {
    let names: Vec<String> = serde_json::from_str(&w.events)
        .map_err(|e| LedgerError::Corrupt(format!("webhook {} events: {e}", w.id)))?;
    names
        .iter()
        .map(|n| {
            EventKind::ALL
                .iter()
                .copied()
                .find(|k| k.as_str() == n)
                .ok_or_else(|| LedgerError::Corrupt(format!("webhook {} event kind {n}", w.id)))
        })
        .collect()
}

fn check(new: &NewWebhook) -> Result<(), LedgerError> {
    if new.events.is_empty() {
        return Err(LedgerError::invalid(
            "events",
            "events must name at least one kind",
        ));
    }
    if new.description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(LedgerError::invalid(
            "description",
            format!("description must be at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    if new.url.chars().count() > URL_MAX_CHARS {
        return Err(LedgerError::invalid(
            "url",
            format!("url must be at most {URL_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Registers a webhook, starting at the streamer's newest event. `WEBHOOK_LIMIT` when the
/// streamer already has `max_per_streamer` (counted under a per-streamer lock, so two at once
/// cannot both take the last place).
pub async fn create(
    db: &DatabaseConnection,
    new: &NewWebhook,
    max_per_streamer: u32,
) -> Result<webhook::Model, LedgerError> {
    check(new)?;
    let mut events: Vec<&str> = new.events.iter().map(|k| k.as_str()).collect();
    events.sort_unstable();
    events.dedup();
    let txn = db.begin().await?;
    lock_streamer(&txn, &new.streamer_id).await?;
    let now = now();
    let feed = events::state(&txn, &new.streamer_id).await?;
    let row = webhook::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        streamer_id: Set(new.streamer_id.clone()),
        url: Set(new.url.clone()),
        description: Set(new.description.clone()),
        events: Set(serde_json::Value::from(events).to_string()),
        secret: Set(new.secret.clone()),
        secret_issued_at: Set(now),
        created_at: Set(now),
        status: Set(WebhookStatus::Active),
        delivered_seq: Set(feed.last_seq),
        failing_since: Set(None),
        retry_at: Set(None),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        notice_sent_at: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
    }
    .insert(&txn)
    .await?;
    let count = webhook::Entity::find()
        .filter(webhook::Column::StreamerId.eq(&new.streamer_id))
        .count(&txn)
        .await?;
    if count > u64::from(max_per_streamer) {
        return Err(LedgerError::Refused {
            code: "WEBHOOK_LIMIT",
            message: format!(
                "a streamer may have at most {max_per_streamer} webhooks (WEBHOOKS_PER_STREAMER): \
                 delete one first"
            ),
            retry_at: None,
        });
    }
    txn.commit().await?;
    Ok(row)
}

/// Serialises the webhook registrations of one streamer until the commit.
async fn lock_streamer<C: ConnectionTrait>(txn: &C, streamer_id: &str) -> Result<(), LedgerError> {
    crate::sql::serialise(
        txn,
        "webhooks",
        streamer_id,
        "UPDATE webhooks SET streamer_id = streamer_id WHERE streamer_id = ?",
    )
    .await
}

/// The streamer's webhooks, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
) -> Result<Vec<webhook::Model>, LedgerError> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::StreamerId.eq(streamer_id))
        .order_by_asc(webhook::Column::CreatedAt)
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// The streamer's webhook `id`; `NOT_FOUND` for one that is not theirs (as for one that does not
/// exist: it says nothing of other streamers' webhooks).
pub async fn own<C: ConnectionTrait>(
    db: &C,
    streamer_id: &str,
    id: &str,
) -> Result<webhook::Model, LedgerError> {
    webhook::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .filter(|w| w.streamer_id == streamer_id)
        .ok_or_else(|| LedgerError::NotFound(format!("no webhook {id} of yours")))
}

/// Replaces the webhook's secret: every delivery from the commit on is signed with the new one.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    streamer_id: &str,
    id: &str,
    secret: &str,
) -> Result<webhook::Model, LedgerError> {
    let w = own(db, streamer_id, id).await?;
    let mut row: webhook::ActiveModel = w.into();
    row.secret = Set(secret.to_owned());
    row.secret_issued_at = Set(now());
    Ok(row.update(db).await?)
}

/// Sends a DISABLED webhook events again, from where it stopped (or, if the feed no longer
/// keeps those events, from the oldest one it keeps). An ACTIVE one is answered as it is.
pub async fn enable(
    db: &DatabaseConnection,
    streamer_id: &str,
    id: &str,
) -> Result<webhook::Model, LedgerError> {
    let w = own(db, streamer_id, id).await?;
    if w.status == WebhookStatus::Active {
        return Ok(w);
    }
    let feed = events::state(db, streamer_id).await?;
    let mut row: webhook::ActiveModel = w.clone().into();
    row.status = Set(WebhookStatus::Active);
    row.delivered_seq = Set(w.delivered_seq.max(feed.pruned_through));
    row.failing_since = Set(None);
    row.retry_at = Set(None);
    row.disabled_at = Set(None);
    row.disabled_reason = Set(None);
    row.notice_sent_at = Set(None);
    row.lease_owner = Set(None);
    row.lease_until = Set(None);
    Ok(row.update(db).await?)
}

/// Deletes the webhook and its deliveries' record. A delivery in flight may still arrive once.
pub async fn delete(
    db: &DatabaseConnection,
    streamer_id: &str,
    id: &str,
) -> Result<(), LedgerError> {
    let txn = db.begin().await?;
    // Its row first (written, so SQLite's lock is taken before anything is read): a delivery
    // being recorded, which holds it, commits before, and its record goes with the rest.
    webhook::Entity::update_many()
        .col_expr(webhook::Column::Status, Expr::col(webhook::Column::Status))
        .filter(webhook::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    own(&txn, streamer_id, id).await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(&txn)
        .await?;
    webhook::Entity::delete_by_id(id.to_owned())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}
