//! The worker's periodic counts for alerts (payouts stuck at the bank, disputes waiting): one
//! step every interval until shutdown.

use std::future::Future;
use std::time::Duration;

/// Runs `step` every `interval` (the first at once; a late tick is delayed, never bunched)
/// until `shutdown` resolves.
pub async fn every<F, Fut>(interval: Duration, shutdown: impl Future<Output = ()>, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => step().await,
        }
    }
}

/// The instant `age` ago (the earliest instant if that is out of range: then nothing counts).
pub fn ago(age: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Duration::from_std(age)
        .ok()
        .and_then(|d| chrono::Utc::now().checked_sub_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}
