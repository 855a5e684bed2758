//! The worker sends the receipts of top-ups and withdrawals (issue 15): every [`INTERVAL`] it
//! claims due rows of the `topup_receipts` outbox (written in the transaction of each event,
//! see `missionlink_ledger::topup::receipts`), sends each through the worker's mailer (the
//! `.eml` files or SES v2), and records it sent. A plain loop, not a workflow: one message per
//! event with nothing to wait for between its steps.

use crate::email::{Email, Mailer, SendError, TopUpReceiptFacts, topup_receipt};
use crate::payout::Operator;
use chrono::Utc;
use missionlink_ledger::status::{DeliveryStatus, TopUpEvent};
use missionlink_ledger::topup::{self, TopUpRules, receipts};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for receipts to send.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Most receipts sent per round.
pub const BATCH: u64 = 50;
/// How long a claim keeps other workers off a receipt: longer than one send can take.
pub const LEASE_SECONDS: i64 = 300;

/// What the loop needs.
#[derive(Clone)]
pub struct TopUpReceipts {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub operator: Operator,
    pub rules: TopUpRules,
}

/// The loop sending due receipts every [`INTERVAL`].
pub fn worker_loop(deps: TopUpReceipts) -> crate::periodic::Loop {
    let deps = Arc::new(deps);
    crate::periodic::Loop::new("top-up receipts", INTERVAL, move || {
        let deps = deps.clone();
        async move {
            round(&deps)
                .await
                .map_err(|e| e.context("top-up receipts: round failed"))?;
            Ok(())
        }
    })
}

/// One round: sends at most [`BATCH`] receipts, each claimed just before its send, so a lease
/// never lapses behind a queue of slow sends (another worker would send those again).
pub async fn round(deps: &TopUpReceipts) -> anyhow::Result<usize> {
    let mut sent = 0;
    for _ in 0..BATCH {
        let claimed = receipts::claim_due(
            &deps.missions_db,
            Utc::now(),
            chrono::Duration::seconds(LEASE_SECONDS),
            1,
        )
        .await?;
        let Some((id, event)) = claimed.into_iter().next() else {
            break;
        };
        match send(deps, &id, event).await {
            Ok(()) => sent += 1,
            // Left claimed: the lease lapses and a later round tries again.
            Err(e) => {
                tracing::warn!(top_up = %id, error = format!("{e:#}"), "top-up receipt not sent")
            }
        }
    }
    Ok(sent)
}

async fn send(deps: &TopUpReceipts, id: &str, event: TopUpEvent) -> anyhow::Result<()> {
    let t = topup::find(&deps.missions_db, id).await?;
    let Some(owner) = missionlink_identity::users::recipient(&deps.users_db, &t.user_id).await?
    else {
        // No one to tell: recorded so it is not tried forever.
        receipts::mark_sent(
            &deps.missions_db,
            id,
            event,
            "",
            "",
            DeliveryStatus::Failed,
            Some("no such user".into()),
        )
        .await?;
        return Ok(());
    };
    let withdrawn = event == TopUpEvent::Withdrawn;
    let at = if withdrawn {
        t.withdrawn_at
    } else {
        t.confirmed_at
    }
    .ok_or_else(|| anyhow::anyhow!("top-up {id} has no time for {event}"))?;
    let facts = TopUpReceiptFacts {
        top_up_id: t.id.clone(),
        order_id: t.order_id.clone(),
        withdrawn,
        at,
        // A withdrawal's receipt is for what it withdrew (all of the top-up or part of it).
        amount_won: if withdrawn {
            t.withdrawal_won()
        } else {
            t.amount
        },
        provider: t.provider.clone(),
        withdrawable_until: t
            .confirmed_at
            .map(|c| topup::withdrawable_until(c, &deps.rules)),
        withdrawal_days: deps.rules.withdrawal_days,
        operator_name: deps.operator.name.clone(),
        operator_contact: deps.operator.contact.clone(),
    };
    let (subject, text) = topup_receipt(&facts, owner.locale);
    let email = Email {
        key: format!("topup-{}-{}", t.id, event.as_str().to_lowercase()),
        to: owner.email.clone(),
        subject: subject.clone(),
        text,
        links: Vec::new(),
    };
    let (status, error) = match deps.mailer.send(&email).await {
        Ok(()) => (DeliveryStatus::Sent, None),
        Err(SendError::Rejected(why)) => (DeliveryStatus::Failed, Some(why)),
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    receipts::mark_sent(
        &deps.missions_db,
        id,
        event,
        &owner.email,
        &subject,
        status,
        error,
    )
    .await?;
    Ok(())
}
