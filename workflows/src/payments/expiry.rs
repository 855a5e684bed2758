//! The worker's sweep of top-up orders nobody confirmed: every [`INTERVAL`] it deletes the
//! orders still PREPARED `TOPUP_ORDER_TTL_SECONDS` after they were made
//! (`missionlink_ledger::topup::order::sweep_expired`), at most [`BATCH`] a statement and
//! [`MAX_BATCHES`] statements a round, so the money database holds only the orders that did
//! something. A PREPARED order reserved nothing and took no payment (the provider is asked only
//! once a confirm began, which made it CONFIRMING), so deleting it changes no balance and no
//! day's total; its confirm is refused with `ORDER_EXPIRED` before and after.

use crate::periodic::Loop;
use anyhow::Context as _;
use chrono::Utc;
use missionlink_ledger::topup::{TopUpRules, order};
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// How often the worker looks for expired orders.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Most orders one statement deletes.
pub const BATCH: u64 = 500;
/// Most statements one round runs: at most `BATCH * MAX_BATCHES` orders a minute, the rest
/// the next minute.
pub const MAX_BATCHES: usize = 20;

/// The loop sweeping every [`INTERVAL`].
pub fn worker_loop(db: DatabaseConnection, rules: TopUpRules) -> Loop {
    Loop::new("top-up order sweep", INTERVAL, move || {
        let db = db.clone();
        async move {
            let n = round(&db, &rules)
                .await
                .context("top-up order sweep failed")?;
            if n > 0 {
                tracing::info!(deleted = n, "expired top-up orders swept");
            }
            Ok(())
        }
    })
}

/// One round; how many orders it deleted.
pub async fn round(
    db: &DatabaseConnection,
    rules: &TopUpRules,
) -> Result<u64, missionlink_ledger::LedgerError> {
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES {
        let n = order::sweep_expired(db, rules, Utc::now(), BATCH).await?;
        deleted += n;
        if n < BATCH {
            break;
        }
    }
    Ok(deleted)
}
