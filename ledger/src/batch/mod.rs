//! Group commit for pledges: many `contribute` calls share one database commit.
//!
//! A hot mission must not cost one durable commit per pledge (BRIEF §5). Callers hand their
//! pledge to a [`PledgeBatcher`] and wait. Each of its workers takes whatever pledges are
//! queued (up to `max_batch`), runs each inside its own savepoint of one transaction — so a
//! refused pledge (insufficient funds, closed mission, reused key) rolls back alone — commits
//! once, and only then answers every caller. So:
//!
//! - an acknowledged pledge is committed: no answer leaves before the commit;
//! - a pledge whose batch failed to commit is answered with an error and nothing of it stays;
//!   the client retries with the same idempotency key;
//! - two requests with one key in one batch: the second sees the first's claim (same
//!   transaction) and replays its answer.
//!
//! Every pledge still holds the mission's gate shared, so a transition waits for a batch in
//! flight exactly as it waits for a single pledge.

mod each;
pub(crate) mod pledge;
mod set;

pub use pledge::{Answer, PledgeNote, PledgeRequest};

use crate::LedgerError;
use crate::idempotency::IdempotencyKey;
use crate::rules::MissionRules;
use sea_orm::{DatabaseBackend, DatabaseConnection};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Pledges waiting for a worker before callers are pushed back.
const QUEUE: usize = 16_384;

struct Job {
    request: PledgeRequest,
    reply: oneshot::Sender<Answer>,
}

/// A handle to the batching workers; cheap to clone.
#[derive(Clone)]
pub struct PledgeBatcher {
    queue: mpsc::Sender<Job>,
}

impl PledgeBatcher {
    /// Starts `workers` batching tasks of at most `max_batch` pledges each. Must run inside a
    /// Tokio runtime.
    pub fn start(
        db: DatabaseConnection,
        rules: MissionRules,
        workers: usize,
        max_batch: usize,
    ) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let rules = Arc::new(rules);
        for _ in 0..workers.max(1) {
            tokio::spawn(work(
                db.clone(),
                rules.clone(),
                rx.clone(),
                max_batch.max(1),
            ));
        }
        Self { queue }
    }

    /// Pledges `amount_won` to the mission with `note`; answers once the pledge is committed
    /// (or refused).
    pub async fn contribute(
        &self,
        mission_id: &str,
        backer_id: &str,
        amount_won: i64,
        key: &IdempotencyKey,
        note: PledgeNote,
    ) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                request: PledgeRequest {
                    mission_id: mission_id.to_owned(),
                    backer_id: backer_id.to_owned(),
                    amount_won,
                    key: key.clone(),
                    note,
                },
                reply,
            })
            .await
            .map_err(|_| LedgerError::Corrupt("the pledge batcher stopped".into()))?;
        answer
            .await
            .map_err(|_| LedgerError::Corrupt("the pledge batcher dropped a pledge".into()))?
    }
}

async fn work(
    db: DatabaseConnection,
    rules: Arc<MissionRules>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
) {
    loop {
        let mut jobs = Vec::with_capacity(max_batch);
        {
            let mut rx = queue.lock().await;
            match rx.recv().await {
                Some(job) => jobs.push(job),
                None => return,
            }
            while jobs.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        run_batch(&db, &rules, jobs).await;
    }
}

async fn run_batch(db: &DatabaseConnection, rules: &MissionRules, jobs: Vec<Job>) {
    let (requests, replies): (Vec<_>, Vec<_>) =
        jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
    let answers = commit(db, rules, &requests).await;
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(answer);
    }
}

/// Commits a batch of pledges together and answers each, in the order given. Every answer is
/// final: `Ok` pledges are committed, refused ones left nothing. Exposed for tests that need
/// one batch exactly; the API goes through [`PledgeBatcher`].
pub async fn commit(
    db: &DatabaseConnection,
    rules: &MissionRules,
    requests: &[PledgeRequest],
) -> Vec<Answer> {
    // One lock order for every batch (by backer, whose wallet row each pledge updates), so two
    // batches never wait on each other in a cycle.
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&requests[a], &requests[b]);
        (&a.backer_id, a.key.as_str()).cmp(&(&b.backer_id, b.key.as_str()))
    });
    let sorted: Vec<&PledgeRequest> = order.iter().map(|&i| &requests[i]).collect();
    let answers = if db.get_database_backend() == DatabaseBackend::Postgres {
        match set::commit_set(db, rules, &sorted).await {
            Ok(answers) => answers,
            Err(e) => {
                // Nothing of the batch stayed. Run it again pledge by pledge, so that whatever
                // failed fails alone (the idempotency keys make the second run safe even if the
                // first commit's outcome was lost).
                tracing::warn!(error = %e, size = sorted.len(), "set-based pledge batch failed; retrying pledge by pledge");
                each::commit_each(db, rules, &sorted).await
            }
        }
    } else {
        each::commit_each(db, rules, &sorted).await
    };
    // Each caller must hear the answer to its own pledge: one answer per request, in the
    // order asked. Anything else is a bug that would tell callers someone else's outcome.
    assert_eq!(
        answers.len(),
        requests.len(),
        "a pledge batch answered {} of {} requests",
        answers.len(),
        requests.len()
    );
    let mut in_order: Vec<Option<Answer>> = requests.iter().map(|_| None).collect();
    for (i, answer) in order.into_iter().zip(answers) {
        assert!(in_order[i].is_none(), "request {i} answered twice");
        in_order[i] = Some(answer);
    }
    in_order
        .into_iter()
        .map(|answer| answer.expect("every request answered exactly once"))
        .collect()
}
