//! The worker counts payouts stuck at the bank (PROCESSING for longer than
//! `PAYOUT_STUCK_SECONDS`) every [`WATCH_INTERVAL`] into `missionlink_payouts_stuck`, which the
//! `MissionLinkPayoutStuck` alert watches, and payouts held for an operator into
//! `missionlink_payouts_held` and, held longer than `PAYOUT_HELD_SLA_SECONDS`,
//! `missionlink_payouts_held_overdue`, which `MissionLinkPayoutHeldOverdue` watches.

use crate::periodic::{Loop, ago};
use anyhow::Context as _;
use missionlink_ledger::payout;
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// How often the worker counts (one indexed count; the alert waits 5 minutes anyway).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(10);

/// The two loops counting every [`WATCH_INTERVAL`]: payouts stuck at the bank, and payouts
/// held for an operator (each its own loop, so a failure of one count leaves the other).
pub fn worker_loops(
    db: DatabaseConnection,
    stuck_after: Duration,
    held_sla: Duration,
) -> [Loop; 2] {
    let stuck = Loop::new("payout watch (stuck)", WATCH_INTERVAL, {
        let db = db.clone();
        move || {
            let db = db.clone();
            async move {
                let n = payout::stuck_count(&db, ago(stuck_after))
                    .await
                    .context("could not count stuck payouts")?;
                if n > 0 {
                    tracing::warn!(stuck = n, "payouts stuck at the bank");
                }
                missionlink_telemetry::metrics().payouts_stuck(n);
                Ok(())
            }
        }
    });
    let held = Loop::new("payout watch (held)", WATCH_INTERVAL, move || {
        let db = db.clone();
        async move {
            let (held, overdue) = payout::held_count(&db, ago(held_sla))
                .await
                .context("could not count held payouts")?;
            if overdue > 0 {
                tracing::warn!(overdue, "payouts held for an operator past their SLA");
            }
            missionlink_telemetry::metrics().payouts_held(held, overdue);
            Ok(())
        }
    });
    [stuck, held]
}
