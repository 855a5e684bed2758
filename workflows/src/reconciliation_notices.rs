//! The worker tells users of the reconciliation cases resolved about their money (issue 26):
//! every [`INTERVAL`] it claims due notices (`missionlink_ledger::reconcile::notices`), sends
//! each through the worker's mailer (the `.eml` files or SES v2) in the user's locale, and
//! records it sent. A plain loop, like the top-up receipts.

use crate::email::{Email, Mailer, NoticeFacts, SendError, reconciliation_notice};
use crate::payout::Operator;
use chrono::Utc;
use missionlink_entities::missions::reconciliation_case as case;
use missionlink_ledger::reconcile::notices;
use missionlink_ledger::status::DeliveryStatus;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for notices to send.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Most notices sent per round.
pub const BATCH: u64 = 50;
/// How long a claim keeps other workers off a notice: longer than one send can take.
pub const LEASE_SECONDS: i64 = 300;

/// What the loop needs.
#[derive(Clone)]
pub struct ReconciliationNotices {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub operator: Operator,
}

/// The loop sending due notices every [`INTERVAL`].
pub fn worker_loop(deps: ReconciliationNotices) -> crate::periodic::Loop {
    let deps = Arc::new(deps);
    crate::periodic::Loop::new("reconciliation notices", INTERVAL, move || {
        let deps = deps.clone();
        async move {
            round(&deps)
                .await
                .map_err(|e| e.context("reconciliation notices: round failed"))?;
            Ok(())
        }
    })
}

/// One round: sends at most [`BATCH`] notices, each claimed just before its send, so a lease
/// never lapses behind a queue of slow sends (another worker would send those again).
pub async fn round(deps: &ReconciliationNotices) -> anyhow::Result<usize> {
    let mut sent = 0;
    for _ in 0..BATCH {
        let claimed = notices::claim_due(
            &deps.missions_db,
            Utc::now(),
            chrono::Duration::seconds(LEASE_SECONDS),
            1,
        )
        .await?;
        let Some(c) = claimed.into_iter().next() else {
            break;
        };
        match send(deps, &c).await {
            Ok(()) => sent += 1,
            // Left claimed: the lease lapses and a later round tries again.
            Err(e) => {
                tracing::warn!(case = %c.id, error = format!("{e:#}"), "reconciliation notice not sent")
            }
        }
    }
    Ok(sent)
}

async fn send(deps: &ReconciliationNotices, c: &case::Model) -> anyhow::Result<()> {
    let Some(owner) = missionlink_identity::users::recipient(&deps.users_db, &c.user_id).await?
    else {
        // No one to tell: recorded so it is not tried forever.
        notices::mark_sent(
            &deps.missions_db,
            &c.id,
            DeliveryStatus::Failed,
            Some("no such user".into()),
        )
        .await?;
        return Ok(());
    };
    let (Some(action), Some(at)) = (c.resolution, c.resolved_at) else {
        anyhow::bail!("case {} is due a notice but is not resolved", c.id);
    };
    let to_cash = match &c.payout_id {
        Some(id) => {
            missionlink_ledger::payout::find(&deps.missions_db, id)
                .await?
                .kind
                == missionlink_ledger::status::PayoutKind::CashRefund
        }
        None => false,
    };
    let facts = NoticeFacts {
        case_id: c.id.clone(),
        action,
        at,
        amount_won: c.amount,
        debited_won: c.debited,
        owed_won: c.owed,
        to_cash,
        operator_name: deps.operator.name.clone(),
        operator_contact: deps.operator.contact.clone(),
    };
    let (subject, text) = reconciliation_notice(&facts, owner.locale);
    let email = Email {
        key: format!("case-{}", c.id),
        to: owner.email.clone(),
        subject,
        text,
        links: Vec::new(),
    };
    let (status, error) = match deps.mailer.send(&email).await {
        Ok(()) => (DeliveryStatus::Sent, None),
        Err(SendError::Rejected(why)) => (DeliveryStatus::Failed, Some(why)),
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    notices::mark_sent(&deps.missions_db, &c.id, status, error).await?;
    Ok(())
}
