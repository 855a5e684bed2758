//! The worker counts the disputes waiting for an operator every [`WATCH_INTERVAL`] into
//! `missionlink_disputes_open` and, of those, the ones waiting longer than
//! `DISPUTE_SLA_SECONDS` into `missionlink_disputes_overdue`, which the
//! `MissionLinkDisputeOverdue` alert watches.

use missionlink_ledger::operator;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::time::Duration;

/// How often the worker counts (one index range; the alert is about hours, not seconds).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(10);

/// Counts every [`WATCH_INTERVAL`] until `shutdown` resolves.
pub async fn run(db: DatabaseConnection, sla: Duration, shutdown: impl Future<Output = ()>) {
    crate::periodic::every(WATCH_INTERVAL, shutdown, || async {
        match operator::disputes_waiting(&db, crate::periodic::ago(sla)).await {
            Ok(w) => {
                if w.overdue > 0 {
                    tracing::warn!(overdue = w.overdue, "disputes waiting past their SLA");
                }
                missionlink_telemetry::metrics().disputes_waiting(
                    u64::try_from(w.open).unwrap_or(0),
                    u64::try_from(w.overdue).unwrap_or(0),
                );
            }
            Err(e) => tracing::warn!(error = %e, "could not count waiting disputes"),
        }
    })
    .await;
}
