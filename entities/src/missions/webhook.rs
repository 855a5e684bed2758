//! A streamer's webhook (issue 29): an endpoint sent the streamer's feed events, signed, in
//! `seq` order, from its durable cursor `delivered_seq`.

use super::status::WebhookStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub streamer_id: String,
    pub url: String,
    pub description: String,
    /// The feed event kinds it takes, a JSON array of `EventKind`s.
    pub events: String,
    /// The HMAC-SHA256 key of its signatures (kept as is: signing needs it).
    pub secret: String,
    pub secret_issued_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub status: WebhookStatus,
    /// Every event of the streamer's feed up to this `seq` was delivered, or not one it takes.
    pub delivered_seq: i64,
    /// Since when the next event's delivery has been failing.
    pub failing_since: Option<DateTimeUtc>,
    /// When the next event is tried again.
    pub retry_at: Option<DateTimeUtc>,
    pub disabled_at: Option<DateTimeUtc>,
    pub disabled_reason: Option<String>,
    /// When its streamer was emailed that it was disabled.
    pub notice_sent_at: Option<DateTimeUtc>,
    /// The API process delivering it, until `lease_until`.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
