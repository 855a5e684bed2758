//! The worker runs the money audit on a schedule and publishes its findings as metrics
//! (`missionlink_audit_violations`, `missionlink_audit_last_run_timestamp_seconds`), so an alert
//! fires when an invariant breaks, without anyone running `missionlink audit` by hand.

use crate::periodic::Loop;
use anyhow::Context as _;
use missionlink_ledger::audit;
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// The loop running the audit every `interval`.
pub fn worker_loop(db: DatabaseConnection, interval: Duration) -> Loop {
    Loop::new("audit", interval, move || {
        let db = db.clone();
        async move {
            let violations = audit::run(&db)
                .await
                .context("scheduled audit could not run")?;
            for v in &violations {
                tracing::error!(violation = %v, "money invariant violated");
            }
            missionlink_telemetry::metrics().audit_finished(violations.len());
            Ok(())
        }
    })
}
