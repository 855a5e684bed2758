//! The one runner of the worker's background loops (the outbox relays, the audit, event pruning,
//! the dispute and payout watches, the top-up order sweep, reconciliation and receipts): each a
//! [`Loop`] — a name, an interval and a step — and all of them in one [`Loops`], one task set
//! that one stop signal ends.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

type Step = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send>;

/// One background loop: its name (in the log line of every failure), how often it steps, and
/// its step.
pub struct Loop {
    name: &'static str,
    interval: Duration,
    step: Step,
}

impl Loop {
    pub fn new<F, Fut>(name: &'static str, interval: Duration, mut step: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name,
            interval,
            step: Box::new(move || Box::pin(step())),
        }
    }

    /// Steps every interval (the first at once; a late tick is delayed, never bunched) until
    /// `stop` is cancelled; a step under way finishes first. A failed step is logged at warn
    /// with the loop's name, and the next tick tries again.
    async fn run(mut self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {
                    if let Err(e) = (self.step)().await {
                        tracing::warn!(
                            worker_loop = self.name,
                            error = %format!("{e:#}"),
                            "worker loop step failed"
                        );
                    }
                }
            }
        }
    }
}

/// The worker's loops: one task set, one stop signal.
#[derive(Default)]
pub struct Loops {
    tasks: JoinSet<()>,
    names: HashMap<tokio::task::Id, &'static str>,
    stop: CancellationToken,
}

impl Loops {
    /// Starts `l`; it runs until [`Loops::stop`].
    pub fn spawn(&mut self, l: Loop) {
        let name = l.name;
        let id = self.tasks.spawn(l.run(self.stop.clone())).id();
        self.names.insert(id, name);
    }

    /// Stops every loop (each finishes the step under way) and waits for all of them.
    pub async fn stop(mut self) {
        self.stop.cancel();
        while let Some(ended) = self.tasks.join_next_with_id().await {
            if let Err(e) = ended {
                let name = self.names.get(&e.id()).copied().unwrap_or("?");
                tracing::warn!(worker_loop = name, error = %e, "a worker loop ended abnormally");
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_loop_steps_on_after_a_failed_step_and_ends_at_the_stop_signal() {
        let steps = Arc::new(AtomicUsize::new(0));
        let counted = steps.clone();
        let mut loops = Loops::default();
        loops.spawn(Loop::new("test", Duration::from_millis(5), move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                anyhow::ensure!(n != 0, "the first step fails");
                Ok(())
            }
        }));
        tokio::time::timeout(Duration::from_secs(10), async {
            while steps.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the loop went on stepping after its failed step");
        tokio::time::timeout(Duration::from_secs(10), loops.stop())
            .await
            .expect("every loop ended at the stop signal");
        let stopped_at = steps.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(steps.load(Ordering::SeqCst), stopped_at);
    }
}
