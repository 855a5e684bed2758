//! Sending streamers' webhooks (issue 29): every API process runs one [`Deliverer`], which
//! claims due webhooks (a lease in the missions database, so one process sends a webhook at a
//! time), reads the events after each one's cursor through the schema itself (so a delivery's
//! body is exactly a `missionEvents` node, [`EVENT_FIELDS`]), and POSTs them one by one, in
//! `seq` order, signed ([`sign`]). The cursor moves past an event once its receiver answered 2xx;
//! a failure is retried from the same event after a backoff (1 s doubling to
//! `WEBHOOK_BACKOFF_MAX_SECONDS`), and a webhook still failing after `WEBHOOK_GIVE_UP_SECONDS`,
//! or owing events the feed no longer keeps, is disabled (its streamer is emailed by the
//! worker, `missionlink_workflows::webhook_notices`).
//!
//! Durable as the feed is: the cursor and the events are rows, so a restart, a crash mid-send or
//! another replica taking over resends at most the event in flight (the receiver deduplicates by
//! `MissionLink-Event-Id`), and skips none. Each attempt resolves the URL's host again and
//! connects only to addresses [`target`] allows; redirects are not followed, and a response is
//! read to at most `WEBHOOK_RESPONSE_MAX_BYTES` within `WEBHOOK_TIMEOUT_SECONDS`.

pub mod sign;
pub mod target;

use crate::graphql::{AppSchema, Caller, ClientAddr};
use crate::state::AppState;
use async_graphql::Variables;
use chrono::{DateTime, Utc};
use missionlink_entities::missions::webhook;
use missionlink_ledger::LedgerError;
use missionlink_ledger::webhook::delivery::{self, Attempt};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The webhooks' limits (`WEBHOOKS_PER_STREAMER`, `WEBHOOK_*`).
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub per_streamer: u32,
    pub timeout_seconds: u64,
    pub response_max_bytes: usize,
    pub backoff_max_seconds: u64,
    pub give_up_seconds: u64,
    /// `TEST_EVENTS_PER_MINUTE`: a streamer's `sendTestEvent` calls per minute (they reach the
    /// same tools as webhooks).
    pub test_events_per_minute: u32,
    /// `APP_ENV=production`: https only, public addresses only.
    pub production: bool,
}

impl WebhookSettings {
    /// `WEBHOOK_TIMEOUT_SECONDS`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            per_streamer: 5,
            timeout_seconds: 10,
            response_max_bytes: 65_536,
            backoff_max_seconds: 600,
            give_up_seconds: 86_400,
            test_events_per_minute: 10,
            production: false,
        }
    }
}

/// What a delivery's body holds: a `missionEvents` node with these fields (the overlay's, and a
/// `PREDICTION_*` event's prediction).
pub const EVENT_FIELDS: &str = "seq kind createdAt tier test \
    mission { id title status kind acceptBy deadline goal fundingEndsAt totalPledged totalHeld \
              backerCount streamer { id displayName } tiers { level amount title reachedAt } } \
    pledge { id amount createdAt anonymous message backer { id displayName } } \
    prediction { id title status decision lockAt resolveBy totalPoints \
                 outcomes { id position title points bettors } winningOutcome { id title } \
                 mission { id } }";

/// Events read (and sent, one by one) per claim of a webhook: a page of [`EVENT_FIELDS`]
/// within the schema's `GRAPHQL_MAX_COMPLEXITY`.
const PAGE: i32 = 10;
/// Webhooks one process sends at once.
const CLAIMS: u64 = 16;
/// How often a process looks for due webhooks (sooner after its own commits).
const POLL: Duration = Duration::from_millis(500);
/// After a wake-up by its own commit, how long a process lets more commits gather before it
/// looks: one look per burst, not one per commit.
const GATHER: Duration = Duration::from_millis(50);
/// The kind recorded for an attempt that failed before its event could be read.
const UNREAD: &str = "UNREAD";

/// One process's sender of webhooks.
pub struct Deliverer {
    app: AppState,
    schema: AppSchema,
    owner: String,
    busy: Mutex<HashSet<String>>,
}

impl Deliverer {
    /// Starts sending; stops when the returned task is aborted.
    pub fn spawn(app: AppState, schema: AppSchema) -> tokio::task::JoinHandle<()> {
        let owner = format!(
            "{}@{}:{}",
            std::process::id(),
            hostname(),
            uuid::Uuid::new_v4().simple()
        );
        let me = Arc::new(Self {
            app,
            schema,
            owner,
            busy: Mutex::new(HashSet::new()),
        });
        tokio::spawn(async move {
            let mut committed = missionlink_ledger::events::local_committed().subscribe();
            loop {
                if let Err(e) = me.clone().round().await {
                    tracing::warn!(error = %e, "webhooks: round failed; trying again");
                }
                // Woken by this process's own commits (a burst gathered), or after POLL for
                // everyone else's.
                if tokio::time::timeout(POLL, committed.recv()).await.is_ok() {
                    tokio::time::sleep(GATHER).await;
                    while matches!(
                        committed.try_recv(),
                        Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_))
                    ) {}
                }
            }
        })
    }

    async fn round(self: Arc<Self>) -> Result<(), LedgerError> {
        let now = Utc::now();
        let claimed = delivery::claim_due(
            &self.app.db.missions,
            &self.owner,
            now,
            self.lease(),
            CLAIMS,
        )
        .await?;
        for w in claimed {
            if !self.lock().insert(w.id.clone()) {
                continue; // this process is sending it already
            }
            let me = self.clone();
            tokio::spawn(async move {
                let id = w.id.clone();
                if let Err(e) = me.send_page(w).await {
                    tracing::warn!(webhook = %id, error = %e, "webhooks: delivery stopped");
                    let _ = delivery::release(&me.app.db.missions, &id, &me.owner).await;
                }
                me.lock().remove(&id);
            });
        }
        Ok(())
    }

    /// How long a claim keeps other processes off a webhook: longer than one attempt can take
    /// (resolving, then the request, each within `WEBHOOK_TIMEOUT_SECONDS`); renewed with every
    /// event sent.
    fn lease(&self) -> chrono::Duration {
        let timeout = i64::try_from(self.app.settings.webhooks.timeout_seconds).unwrap_or(60);
        chrono::Duration::seconds(2 * timeout + 30)
    }

    fn lease_end(&self) -> DateTime<Utc> {
        Utc::now() + self.lease()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends the next page of the webhook's events, in order, stopping at the first failure.
    async fn send_page(&self, w: webhook::Model) -> Result<(), LedgerError> {
        let db = &self.app.db.missions;
        let settings = &self.app.settings.webhooks;
        let kinds = match missionlink_ledger::webhook::kinds(&w) {
            Ok(kinds) => kinds,
            Err(e) => return self.failed(&w, &unread(&w, e.to_string())).await,
        };
        let nodes = match self.events_after(&w.streamer_id, w.delivered_seq).await {
            Ok(nodes) => nodes,
            Err(Read::Expired) => {
                let reason = "the events it was owed were deleted (EVENT_RETENTION_HOURS) \
                              before they could be delivered";
                return delivery::disable(db, &w.id, &self.owner, reason, None).await;
            }
            // Tried again after the backoff like a receiver's failure, and given up the same way.
            Err(Read::Other(e)) => return self.failed(&w, &unread(&w, e)).await,
        };
        let mut client: Option<reqwest::Client> = None;
        let mut through = w.delivered_seq;
        for node in nodes {
            let (seq, kind) = (node.seq, node.kind.clone());
            if !kinds.iter().any(|k| k.as_str() == kind) {
                through = seq;
                continue;
            }
            // The secret as it is now (a rotation signs every later delivery), while this
            // process still holds the webhook.
            let secret = delivery::secret_held(db, &w.id, &self.owner).await?;
            let attempt = match client.as_ref() {
                Some(c) => post(c, &w, &secret, &node, settings).await,
                None => match connect(&w, settings).await {
                    Ok(c) => post(client.insert(c), &w, &secret, &node, settings).await,
                    Err(refused) => Attempt {
                        seq,
                        kind,
                        response_code: None,
                        latency_ms: None,
                        error: Some(format!("refused target: {refused}")),
                    },
                },
            };
            if attempt.error.is_none() {
                delivery::advance(
                    db,
                    &w.id,
                    &self.owner,
                    seq,
                    Some(&attempt),
                    self.lease_end(),
                )
                .await?;
                through = seq;
                continue;
            }
            if through > w.delivered_seq {
                delivery::advance(db, &w.id, &self.owner, through, None, self.lease_end()).await?;
            }
            return self.failed(&w, &attempt).await;
        }
        if through > w.delivered_seq {
            delivery::advance(db, &w.id, &self.owner, through, None, self.lease_end()).await?;
        }
        delivery::release(db, &w.id, &self.owner).await
    }

    /// After a failed attempt: retried after the backoff, or given up.
    async fn failed(&self, w: &webhook::Model, attempt: &Attempt) -> Result<(), LedgerError> {
        let settings = &self.app.settings.webhooks;
        let max = settings.backoff_max_seconds;
        let give_up =
            chrono::Duration::seconds(i64::try_from(settings.give_up_seconds).unwrap_or(i64::MAX));
        let after = delivery::failed(
            &self.app.db.missions,
            &w.id,
            &self.owner,
            attempt,
            |n| backoff(n, max),
            give_up,
        )
        .await?;
        tracing::info!(webhook = %w.id, seq = attempt.seq, error = ?attempt.error, ?after,
            "webhooks: a delivery failed");
        Ok(())
    }

    /// The streamer's events after `after_seq`, each as a `missionEvents` node.
    async fn events_after(&self, streamer_id: &str, after_seq: i64) -> Result<Vec<Node>, Read> {
        let query = format!(
            "query WebhookEvents($s: ID!, $after: Int!, $first: Int!) {{ \
             missionEvents(streamerId: $s, afterSeq: $after, first: $first) {{ \
             nodes {{ {EVENT_FIELDS} }} }} }}"
        );
        let after = i32::try_from(after_seq).map_err(|e| Read::Other(e.to_string()))?;
        let request = async_graphql::Request::new(query)
            .variables(Variables::from_json(serde_json::json!({
                "s": streamer_id, "after": after, "first": PAGE
            })))
            .data(Caller::Anonymous)
            .data(ClientAddr(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let response = self.schema.execute(request).await;
        if let Some(e) = response.errors.first() {
            let expired = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| *c == async_graphql::Value::from("EVENTS_EXPIRED"));
            return Err(if expired {
                Read::Expired
            } else {
                Read::Other(e.message.clone())
            });
        }
        let data = response
            .data
            .into_json()
            .map_err(|e| Read::Other(e.to_string()))?;
        let nodes = data["missionEvents"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        nodes
            .into_iter()
            .map(|body| {
                let seq = body["seq"].as_i64();
                let kind = body["kind"].as_str().map(str::to_owned);
                match (seq, kind) {
                    (Some(seq), Some(kind)) => Ok(Node { seq, kind, body }),
                    _ => Err(Read::Other(format!("an event without seq or kind: {body}"))),
                }
            })
            .collect()
    }
}

/// A `missionEvents` node, with what routing needs read off it.
struct Node {
    seq: i64,
    kind: String,
    body: serde_json::Value,
}

enum Read {
    /// The events after the cursor are gone (`EVENTS_EXPIRED`).
    Expired,
    Other(String),
}

/// A failed attempt at the webhook's next event, which could not be read (or routed).
fn unread(w: &webhook::Model, why: String) -> Attempt {
    Attempt {
        seq: w.delivered_seq + 1,
        kind: UNREAD.to_owned(),
        response_code: None,
        latency_ms: None,
        error: Some(format!("could not read the event: {why}")),
    }
}

/// The wait before the `attempt`th attempt (the 2nd waits 1 s): doubling, capped.
pub fn backoff(attempt: i32, max_seconds: u64) -> chrono::Duration {
    let doublings = u32::try_from(attempt.saturating_sub(2).clamp(0, 30)).unwrap_or(30);
    let seconds = 1u64
        .checked_shl(doublings)
        .unwrap_or(u64::MAX)
        .min(max_seconds);
    chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into())
}

/// A client that reaches the webhook's host only at the addresses it resolves to now, each
/// allowed, following no redirect and going through no proxy.
async fn connect(
    w: &webhook::Model,
    settings: &WebhookSettings,
) -> Result<reqwest::Client, target::Refused> {
    let url = target::parse(&w.url, settings.production)?;
    let addrs = target::resolve(&url, settings.production, settings.timeout()).await?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout())
        .user_agent("MissionLink-Webhooks/1");
    if let Some(url::Host::Domain(name)) = url.host() {
        builder = builder.resolve_to_addrs(name, &addrs);
    }
    builder
        .build()
        .map_err(|e| target::Refused(format!("no client: {e}")))
}

/// One attempt at one event: signed, timed, its response read to the cap.
async fn post(
    client: &reqwest::Client,
    w: &webhook::Model,
    secret: &str,
    node: &Node,
    settings: &WebhookSettings,
) -> Attempt {
    let body = serde_json::to_vec(&node.body).unwrap_or_default();
    let t = Utc::now().timestamp();
    let started = Instant::now();
    let sent = client
        .post(&w.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(sign::SIGNATURE_HEADER, sign::header(secret, t, &body))
        .header(
            sign::EVENT_ID_HEADER,
            format!("{}:{}", w.streamer_id, node.seq),
        )
        .header(sign::WEBHOOK_ID_HEADER, &w.id)
        .body(body)
        .send()
        .await;
    let outcome = match sent {
        Ok(mut response) => {
            let status = response.status();
            let mut read = 0usize;
            while read < settings.response_max_bytes {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    Ok(None) | Err(_) => break,
                }
            }
            let code = Some(i32::from(status.as_u16()));
            if status.is_success() {
                (code, None)
            } else {
                (code, Some(format!("the receiver answered {status}")))
            }
        }
        Err(e) if e.is_timeout() => (
            None,
            Some(format!(
                "no answer within {}s (WEBHOOK_TIMEOUT_SECONDS)",
                settings.timeout_seconds
            )),
        ),
        Err(e) => (None, Some(format!("could not reach the receiver: {e}"))),
    };
    Attempt {
        seq: node.seq,
        kind: node.kind.clone(),
        response_code: outcome.0,
        latency_ms: Some(i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)),
        error: outcome.1,
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn the_backoff_starts_at_a_second_and_doubles_to_its_cap() {
        let secs: Vec<i64> = (2..=12).map(|a| backoff(a, 300).num_seconds()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(1, 300).num_seconds(), 1);
        assert_eq!(backoff(i32::MAX, 600).num_seconds(), 600);
    }
}
