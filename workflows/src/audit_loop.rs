//! The worker runs the money audit on a schedule and publishes its findings as metrics
//! (`missionlink_audit_violations`, `missionlink_audit_last_run_timestamp_seconds`), so an alert
//! fires when an invariant breaks, without anyone running `missionlink audit` by hand.

use missionlink_ledger::audit;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::time::Duration;

/// Runs the audit every `interval` until `shutdown` resolves.
pub async fn run(db: DatabaseConnection, interval: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => match audit::run(&db).await {
                Ok(violations) => {
                    for v in &violations {
                        tracing::error!(violation = %v, "money invariant violated");
                    }
                    missionlink_telemetry::metrics().audit_finished(violations.len());
                }
                Err(e) => tracing::warn!(error = %e, "scheduled audit could not run"),
            },
        }
    }
}
