//! The worker moves streamers' own predictions along in time (issue 31, item 2): every
//! [`SWEEP_INTERVAL`] it closes betting on those whose window ended, expires those nobody
//! resolved within `PREDICTION_RESOLVE_HOURS` (every stake back), and pays out every decided
//! one the API did not finish paying (`prediction::streamer::sweep`). A prediction's state is
//! its row, so a sweep that stops half way is finished by the next.

use crate::periodic::Loop;
use anyhow::Context as _;
use missionlink_ledger::prediction::streamer;
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// How often the sweep looks: how late past its window a prediction may show OPEN.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The loop sweeping predictions every [`SWEEP_INTERVAL`], paying `page_size` bets per
/// transaction (`SETTLEMENT_PAGE_SIZE`).
pub fn worker_loop(db: DatabaseConnection, page_size: u64) -> Loop {
    Loop::new("prediction sweep", SWEEP_INTERVAL, move || {
        let db = db.clone();
        async move {
            let report = streamer::sweep(&db, chrono::Utc::now(), page_size)
                .await
                .context("could not sweep the streamers' predictions")?;
            if report != streamer::SweepReport::default() {
                tracing::info!(
                    locked = report.locked,
                    expired = report.expired,
                    settled = report.settled,
                    "swept predictions"
                );
            }
            Ok(())
        }
    })
}
