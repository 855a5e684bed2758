//! The worker counts payouts stuck at the bank (PROCESSING for longer than
//! `PAYOUT_STUCK_SECONDS`) every [`WATCH_INTERVAL`] into `missionlink_payouts_stuck`, which the
//! `MissionLinkPayoutStuck` alert watches, and payouts held for an operator into
//! `missionlink_payouts_held` and, held longer than `PAYOUT_HELD_SLA_SECONDS`,
//! `missionlink_payouts_held_overdue`, which `MissionLinkPayoutHeldOverdue` watches.

use missionlink_ledger::payout;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::time::Duration;

/// How often the worker counts (one indexed count; the alert waits 5 minutes anyway).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(10);

/// Counts every [`WATCH_INTERVAL`] until `shutdown` resolves.
pub async fn run(
    db: DatabaseConnection,
    stuck_after: Duration,
    held_sla: Duration,
    shutdown: impl Future<Output = ()>,
) {
    crate::periodic::every(WATCH_INTERVAL, shutdown, || async {
        match payout::stuck_count(&db, crate::periodic::ago(stuck_after)).await {
            Ok(n) => {
                if n > 0 {
                    tracing::warn!(stuck = n, "payouts stuck at the bank");
                }
                missionlink_telemetry::metrics().payouts_stuck(n);
            }
            Err(e) => tracing::warn!(error = %e, "could not count stuck payouts"),
        }
        match payout::held_count(&db, crate::periodic::ago(held_sla)).await {
            Ok((held, overdue)) => {
                if overdue > 0 {
                    tracing::warn!(overdue, "payouts held for an operator past their SLA");
                }
                missionlink_telemetry::metrics().payouts_held(held, overdue);
            }
            Err(e) => tracing::warn!(error = %e, "could not count held payouts"),
        }
    })
    .await;
}
