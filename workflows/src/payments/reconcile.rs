//! The worker's reconciliation of top-ups left between two steps (issue 15): a confirm or a
//! cancel the provider did not answer, which neither the client's retry nor the provider's
//! webhook settled. Every [`INTERVAL`] it takes the top-ups CONFIRMING or WITHDRAWING for longer
//! than `TOPUP_RECONCILE_AFTER_SECONDS` (at most [`BATCH`] of each, each round going on where the
//! last one stopped, so every stuck top-up is asked about in turn) and asks the provider again
//! under the same idempotency keys — a repeat never takes or refunds twice — then acts through
//! the same steps as the API ([`super::settle`]).

use super::{PaymentProvider, settle};
use crate::periodic::Loop;
use anyhow::Context as _;
use chrono::Utc;
use missionlink_ledger::status::TopUpStatus;
use missionlink_ledger::topup::{TopUpRules, list};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// How often the worker reconciles.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// Most top-ups of each status asked about per round.
pub const BATCH: u64 = 20;

/// What the loop needs, and where its last round stopped.
pub struct Reconciler {
    pub missions_db: DatabaseConnection,
    pub provider: Arc<dyn PaymentProvider>,
    /// Left alone this long first: the client's own call may still be waiting for its answer.
    pub after: Duration,
    pub rules: TopUpRules,
    /// Per status, where the last page stopped: each round goes on from there and starts over
    /// once it has passed the newest, so top-ups the provider keeps answering nothing for never
    /// hold the others back.
    cursors: std::sync::Mutex<[Option<list::StaleCursor>; 2]>,
}

impl Reconciler {
    pub fn new(
        missions_db: DatabaseConnection,
        provider: Arc<dyn PaymentProvider>,
        after: Duration,
        rules: TopUpRules,
    ) -> Self {
        Self {
            missions_db,
            provider,
            after,
            rules,
            cursors: std::sync::Mutex::new([None, None]),
        }
    }

    /// The next page of stale top-ups in `status` (slot `slot` of the cursors), moving the
    /// cursor on, or back to the start after a short page.
    async fn next_page(
        &self,
        slot: usize,
        status: TopUpStatus,
        before: chrono::DateTime<Utc>,
    ) -> Result<Vec<missionlink_entities::missions::top_up::Model>, missionlink_ledger::LedgerError>
    {
        let after = self.cursors.lock().unwrap_or_else(|e| e.into_inner())[slot].clone();
        let page = list::stale(
            &self.missions_db,
            status,
            self.provider.name(),
            before,
            after.as_ref(),
            BATCH,
        )
        .await?;
        let next = match page.last() {
            Some(last) if u64::try_from(page.len()).is_ok_and(|n| n >= BATCH) => {
                list::stale_cursor(status, last)
            }
            _ => None,
        };
        self.cursors.lock().unwrap_or_else(|e| e.into_inner())[slot] = next;
        Ok(page)
    }
}

/// The loop reconciling every [`INTERVAL`].
pub fn worker_loop(r: Reconciler) -> Loop {
    let r = Arc::new(r);
    Loop::new("top-up reconciliation", INTERVAL, move || {
        let r = r.clone();
        async move {
            round(&r)
                .await
                .context("top-up reconciliation: round failed")?;
            Ok(())
        }
    })
}

/// One round; how many top-ups it settled or finished.
pub async fn round(r: &Reconciler) -> Result<usize, missionlink_ledger::LedgerError> {
    let before = chrono::Duration::from_std(r.after)
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let db = &r.missions_db;
    let mut done = 0;
    for t in r.next_page(0, TopUpStatus::Confirming, before).await? {
        match settle::confirm(db, r.provider.as_ref(), &t).await {
            Ok(settle::Confirmed::Pending(why)) => {
                tracing::info!(top_up = %t.id, %why, "top-up still pending at the provider");
            }
            Ok(_) => done += 1,
            Err(e) => tracing::warn!(top_up = %t.id, error = %e, "top-up not reconciled"),
        }
    }
    let reason = settle::cancel_reason(r.rules.withdrawal_days);
    for t in r.next_page(1, TopUpStatus::Withdrawing, before).await? {
        match settle::cancel(db, r.provider.as_ref(), &t, &reason).await {
            Ok(settle::Cancelled::Pending(why)) => {
                tracing::info!(top_up = %t.id, %why, "withdrawal still pending at the provider");
            }
            Ok(_) => done += 1,
            Err(e) => tracing::warn!(top_up = %t.id, error = %e, "withdrawal not reconciled"),
        }
    }
    Ok(done)
}
