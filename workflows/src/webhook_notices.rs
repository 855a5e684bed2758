//! The worker tells a streamer when one of their webhooks was given up (issue 29): every
//! [`INTERVAL`] it claims a DISABLED webhook whose notice is due (a lease on the row, which is
//! its own outbox), emails the streamer, and records the notice sent. A crash between the send
//! and the record sends it again (the same key, so the file transport keeps one file).

use crate::email::{Email, Mailer, SendError, WebhookNoticeFacts, webhook_notice};
use crate::payout::Operator;
use missionlink_ledger::webhook::delivery;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for notices to send.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Most notices sent per round.
pub const BATCH: usize = 20;
/// How long a claim keeps other workers off a notice: longer than one send can take.
pub const LEASE_SECONDS: i64 = 300;

/// What the loop needs.
#[derive(Clone)]
pub struct WebhookNotices {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub operator: Operator,
}

/// The loop sending due notices every [`INTERVAL`].
pub fn worker_loop(deps: WebhookNotices) -> crate::periodic::Loop {
    let deps = Arc::new(deps);
    let owner = format!("worker-{}", uuid::Uuid::new_v4().simple());
    crate::periodic::Loop::new("webhook notices", INTERVAL, move || {
        let (deps, owner) = (deps.clone(), owner.clone());
        async move {
            round(&deps, &owner)
                .await
                .map_err(|e| e.context("webhook notices: round failed"))?;
            Ok(())
        }
    })
}

/// One round: at most [`BATCH`] notices, each claimed just before its send.
pub async fn round(deps: &WebhookNotices, owner: &str) -> anyhow::Result<usize> {
    let mut sent = 0;
    for _ in 0..BATCH {
        let lease = chrono::Duration::seconds(LEASE_SECONDS);
        let Some(w) = delivery::claim_notice(&deps.missions_db, owner, lease).await? else {
            break;
        };
        let Some(disabled_at) = w.disabled_at else {
            continue;
        };
        let Some(streamer) =
            missionlink_identity::users::recipient(&deps.users_db, &w.streamer_id).await?
        else {
            // No one to tell: recorded so it is not tried forever.
            delivery::notice_sent(&deps.missions_db, &w.id, owner).await?;
            continue;
        };
        let facts = WebhookNoticeFacts {
            url: w.url.clone(),
            description: w.description.clone(),
            disabled_at,
            reason: w.disabled_reason.clone().unwrap_or_default(),
            delivered_seq: w.delivered_seq,
            operator_contact: deps.operator.contact.clone(),
        };
        let (subject, text) = webhook_notice(&facts, streamer.locale);
        let email = Email {
            key: format!("webhook-{}-disabled-{}", w.id, disabled_at.timestamp()),
            to: streamer.email.clone(),
            subject,
            text,
            links: Vec::new(),
        };
        match deps.mailer.send(&email).await {
            Ok(()) => sent += 1,
            Err(SendError::Rejected(why)) => {
                tracing::warn!(webhook = %w.id, %why, "webhook notice: address refused");
            }
            // Left claimed: the lease lapses and a later round tries again.
            Err(e) => {
                tracing::warn!(webhook = %w.id, error = %e, "webhook notice not sent");
                continue;
            }
        }
        delivery::notice_sent(&deps.missions_db, &w.id, owner).await?;
    }
    Ok(sent)
}
