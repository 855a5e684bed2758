//! The worker counts the open reconciliation cases every [`WATCH_INTERVAL`] into
//! `missionlink_reconciliation_cases_open` and, of those, the ones open longer than
//! `RECONCILIATION_SLA_SECONDS` into `missionlink_reconciliation_cases_overdue`, which the
//! `MissionLinkReconciliationOverdue` alert watches.

use crate::periodic::{Loop, ago};
use anyhow::Context as _;
use missionlink_ledger::reconcile::cases;
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// How often the worker counts (one index range; the alert is about hours, not seconds).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(10);

/// The loop counting every [`WATCH_INTERVAL`].
pub fn worker_loop(db: DatabaseConnection, sla: Duration) -> Loop {
    Loop::new("reconciliation watch", WATCH_INTERVAL, move || {
        let db = db.clone();
        async move {
            let w = cases::waiting(&db, ago(sla))
                .await
                .context("could not count open reconciliation cases")?;
            if w.overdue > 0 {
                tracing::warn!(
                    overdue = w.overdue,
                    "reconciliation cases open past their SLA"
                );
            }
            missionlink_telemetry::metrics().reconciliation_waiting(
                u64::try_from(w.open).unwrap_or(0),
                u64::try_from(w.overdue).unwrap_or(0),
            );
            Ok(())
        }
    })
}
