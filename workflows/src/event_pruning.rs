//! The worker prunes the streamers' event feeds: events older than the retention
//! (`EVENT_RETENTION_HOURS`) are deleted every [`PRUNE_INTERVAL`], and each feed records how far
//! it was pruned, so a client resuming from a pruned `seq` is told to reload. The webhooks'
//! record of deliveries last tried before the same cutoff goes with them.

use crate::periodic::Loop;
use anyhow::Context as _;
use missionlink_ledger::events;
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// How often old events are looked for.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// The loop pruning events older than `retention` every [`PRUNE_INTERVAL`].
pub fn worker_loop(db: DatabaseConnection, retention: Duration) -> Loop {
    Loop::new("event pruning", PRUNE_INTERVAL, move || {
        let db = db.clone();
        async move {
            let cutoff = chrono::Utc::now()
                - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
            let n = events::prune(&db, cutoff)
                .await
                .context("could not prune feed events")?;
            if n > 0 {
                tracing::info!(deleted = n, "pruned old feed events");
            }
            let d = missionlink_ledger::webhook::delivery::prune(&db, cutoff)
                .await
                .context("could not prune webhook deliveries")?;
            if d > 0 {
                tracing::info!(deleted = d, "pruned old webhook deliveries");
            }
            Ok(())
        }
    })
}
