//! The worker counts the disputes waiting for an operator every [`WATCH_INTERVAL`] into
//! `missionlink_disputes_open` and, of those, the ones waiting longer than
//! `DISPUTE_SLA_SECONDS` into `missionlink_disputes_overdue`, which the
//! `MissionLinkDisputeOverdue` alert watches.

use crate::periodic::{Loop, ago};
use anyhow::Context as _;
use missionlink_ledger::operator;
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// How often the worker counts (one index range; the alert is about hours, not seconds).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(10);

/// The loop counting every [`WATCH_INTERVAL`].
pub fn worker_loop(db: DatabaseConnection, sla: Duration) -> Loop {
    Loop::new("dispute watch", WATCH_INTERVAL, move || {
        let db = db.clone();
        async move {
            let w = operator::disputes_waiting(&db, ago(sla))
                .await
                .context("could not count waiting disputes")?;
            if w.overdue > 0 {
                tracing::warn!(overdue = w.overdue, "disputes waiting past their SLA");
            }
            missionlink_telemetry::metrics().disputes_waiting(
                u64::try_from(w.open).unwrap_or(0),
                u64::try_from(w.overdue).unwrap_or(0),
            );
            Ok(())
        }
    })
}
