//! Streamers' webhooks in GraphQL (issue 29): `createWebhook`, `rotateWebhookSecret`,
//! `enableWebhook`, `deleteWebhook`, `webhooks` and `webhookDeliveries`. The rows are
//! `missionlink_ledger::webhook`'s; the sending and the target rules `crate::webhooks`'.

use super::connection::{List, PageArgs, graphql_int, list};
use super::context::{state, streamer_caller};
use super::events::MissionEventKind;
use crate::error::{ApiError, GqlResult};
use crate::webhooks::{sign, target};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::{webhook, webhook_delivery};
use missionlink_ledger::listing::{Order, SortKind};
use missionlink_ledger::status::EventKind;
use missionlink_ledger::webhook::{self as domain, NewWebhook};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Whether a webhook is sent events.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "missionlink_ledger::status::WebhookStatus")]
pub enum WebhookStatus {
    Active,
    /// Given up: its deliveries kept failing for `WEBHOOK_GIVE_UP_SECONDS`, or it owed events
    /// the feed no longer keeps. You were emailed; `enableWebhook` starts it again.
    Disabled,
}

/// Where one event's delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "missionlink_ledger::status::WebhookDeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// The receiver answered 2xx.
    Delivered,
    /// The last attempt failed; it is tried again (`Webhook.retryAt`).
    Retrying,
    /// Given up with its webhook.
    Failed,
}

/// A streamer's webhook: each event of their feed of the kinds it takes is POSTed to `url` as
/// JSON (a `missionEvents` node), in `seq` order, at least once, signed with
/// `MissionLink-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; deduplicate by
/// `MissionLink-Event-Id` (`<streamerId>:<seq>`).
#[derive(SimpleObject)]
pub struct Webhook {
    pub id: ID,
    pub url: String,
    pub description: String,
    /// The feed event kinds it is sent.
    pub events: Vec<MissionEventKind>,
    /// The signing secret: only from the call that made it (`createWebhook`,
    /// `rotateWebhookSecret`); null otherwise.
    pub secret: Option<String>,
    pub secret_issued_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub status: WebhookStatus,
    /// Every event up to this `seq` of your feed was delivered, or is not a kind it takes.
    pub delivered_seq: i32,
    /// Since when deliveries have been failing (null while they succeed).
    pub failing_since: Option<DateTime<Utc>>,
    /// When the failing event is tried again.
    pub retry_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

impl Webhook {
    fn of(w: webhook::Model, show_secret: bool) -> Result<Self, ApiError> {
        let events = domain::kinds(&w)?
            .into_iter()
            .map(MissionEventKind::from)
            .collect();
        Ok(Self {
            id: ID(w.id),
            url: w.url,
            description: w.description,
            events,
            secret: show_secret.then_some(w.secret),
            secret_issued_at: w.secret_issued_at,
            created_at: w.created_at,
            status: w.status.into(),
            delivered_seq: graphql_int(w.delivered_seq, "deliveredSeq")?,
            failing_since: w.failing_since,
            retry_at: w.retry_at,
            disabled_at: w.disabled_at,
            disabled_reason: w.disabled_reason,
        })
    }
}

/// One event sent to a webhook.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    pub id: ID,
    /// The event's `seq` in your feed.
    pub seq: i32,
    /// `MissionLink-Event-Id`: `<streamerId>:<seq>`.
    pub event_id: String,
    /// The event's kind, as sent.
    pub kind: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    /// The last attempt's HTTP status, when the receiver answered.
    pub response_code: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    pub latency_ms: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub first_attempt_at: DateTime<Utc>,
    pub last_attempt_at: DateTime<Utc>,
}

impl TryFrom<webhook_delivery::Model> for WebhookDelivery {
    type Error = ApiError;

    /// Without its `eventId`, which [`WebhookDelivery::of_streamer`] fills in.
    fn try_from(d: webhook_delivery::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(d.id),
            seq: graphql_int(d.seq, "seq")?,
            event_id: String::new(),
            kind: d.kind,
            status: d.status.into(),
            attempts: d.attempts,
            response_code: d.response_code,
            latency_ms: d.latency_ms,
            error: d.error,
            first_attempt_at: d.first_attempt_at,
            last_attempt_at: d.last_attempt_at,
        })
    }
}

impl WebhookDelivery {
    fn of_streamer(&mut self, streamer_id: &str) {
        self.event_id = format!("{streamer_id}:{}", self.seq);
    }
}

/// The caller's id if they are a streamer; `FORBIDDEN` otherwise.
fn streamer(ctx: &Context<'_>) -> Result<String, ApiError> {
    Ok(streamer_caller(ctx, "only streamers have webhooks")?
        .sub
        .clone())
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Your webhooks, oldest first (streamers only; `FORBIDDEN` otherwise). Secrets are null.
    async fn webhooks(&self, ctx: &Context<'_>) -> GqlResult<Vec<Webhook>> {
        let me = streamer(ctx)?;
        let rows = domain::list(&state(ctx).db.missions, &me)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|w| Webhook::of(w, false))
            .collect::<Result<_, _>>()?)
    }

    /// The deliveries of your webhook `webhookId`, the newest event first (`NOT_FOUND` for one
    /// that is not yours).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<List<WebhookDelivery>> {
        let me = streamer(ctx)?;
        let db = &state(ctx).db.missions;
        domain::own(db, &me, &webhook_id)
            .await
            .map_err(ApiError::from)?;
        let select = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id.as_str()));
        let order = Order {
            tag: "webhook_deliveries:seq",
            sort: Some((
                Expr::col((webhook_delivery::Entity, webhook_delivery::Column::Seq)),
                SortKind::Int,
            )),
            id: Expr::col((webhook_delivery::Entity, webhook_delivery::Column::Id)),
            descending: true,
        };
        let args = PageArgs {
            first,
            after,
            last: None,
            before: None,
        };
        let mut page: List<WebhookDelivery> = list(db, select, &order, &args).await?;
        for edge in &mut page.edges {
            edge.node.of_streamer(&me);
        }
        Ok(page)
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook (streamers only): each new event of your feed of the kinds in
    /// `events` is POSTed to `url`, signed with the `secret` shown here once. `url` is https
    /// (http and loopback addresses too outside production); private, link-local and reserved
    /// addresses are refused (`BAD_USER_INPUT`), also when a name resolves to one. At most
    /// `WEBHOOKS_PER_STREAMER` (`WEBHOOK_LIMIT`).
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
        events: Vec<MissionEventKind>,
        description: Option<String>,
    ) -> GqlResult<Webhook> {
        let me = streamer(ctx)?;
        let app = state(ctx);
        let production = app.settings.webhooks.production;
        let parsed = target::parse(&url, production).map_err(refused)?;
        target::resolve(&parsed, production, app.settings.webhooks.timeout())
            .await
            .map_err(refused)?;
        let new = NewWebhook {
            streamer_id: me,
            url: parsed.to_string(),
            description: description.unwrap_or_default().trim().to_owned(),
            events: events.into_iter().map(EventKind::from).collect(),
            secret: sign::new_secret(),
        };
        let made = domain::create(&app.db.missions, &new, app.settings.webhooks.per_streamer)
            .await
            .map_err(ApiError::from)?;
        Ok(Webhook::of(made, true)?)
    }

    /// Replaces your webhook's secret and shows the new one, once: deliveries from now on are
    /// signed with it.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, webhook_id: ID) -> GqlResult<Webhook> {
        let me = streamer(ctx)?;
        let w = domain::rotate_secret(
            &state(ctx).db.missions,
            &me,
            &webhook_id,
            &sign::new_secret(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Webhook::of(w, true)?)
    }

    /// Starts a DISABLED webhook again, from the event it stopped at (or the oldest the feed
    /// still keeps, `EVENT_RETENTION_HOURS`).
    async fn enable_webhook(&self, ctx: &Context<'_>, webhook_id: ID) -> GqlResult<Webhook> {
        let me = streamer(ctx)?;
        let w = domain::enable(&state(ctx).db.missions, &me, &webhook_id)
            .await
            .map_err(ApiError::from)?;
        Ok(Webhook::of(w, false)?)
    }

    /// Deletes your webhook and its deliveries' record; answers its id. A delivery already in
    /// flight may still arrive.
    async fn delete_webhook(&self, ctx: &Context<'_>, webhook_id: ID) -> GqlResult<ID> {
        let me = streamer(ctx)?;
        domain::delete(&state(ctx).db.missions, &me, &webhook_id)
            .await
            .map_err(ApiError::from)?;
        Ok(webhook_id)
    }
}

fn refused(r: target::Refused) -> ApiError {
    ApiError::invalid("url", r.0)
}
