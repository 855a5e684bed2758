//! The worker prunes the streamers' event feeds: events older than the retention
//! (`EVENT_RETENTION_HOURS`) are deleted every [`PRUNE_INTERVAL`], and each feed records how far
//! it was pruned, so a client resuming from a pruned `seq` is told to reload.

use missionlink_ledger::events;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::time::Duration;

/// How often old events are looked for.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// Prunes events older than `retention` every [`PRUNE_INTERVAL`] until `shutdown` resolves.
pub async fn run(db: DatabaseConnection, retention: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(PRUNE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {
                let cutoff = chrono::Utc::now()
                    - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
                match events::prune(&db, cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "pruned old feed events"),
                    Err(e) => tracing::warn!(error = %e, "could not prune feed events"),
                }
            }
        }
    }
}
