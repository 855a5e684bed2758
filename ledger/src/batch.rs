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

use crate::LedgerError;
use crate::idempotency::IdempotencyKey;
use crate::mission::{MissionRules, contribute_in};
use missionlink_entities::missions::pledge;
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Pledges waiting for a worker before callers are pushed back.
const QUEUE: usize = 16_384;

struct Job {
    mission_id: String,
    backer_id: String,
    amount_won: i64,
    key: IdempotencyKey,
    reply: oneshot::Sender<Result<pledge::Model, LedgerError>>,
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

    /// Pledges `amount_won` to the mission; answers once the pledge is committed (or refused).
    pub async fn contribute(
        &self,
        mission_id: &str,
        backer_id: &str,
        amount_won: i64,
        key: &IdempotencyKey,
    ) -> Result<pledge::Model, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                mission_id: mission_id.to_owned(),
                backer_id: backer_id.to_owned(),
                amount_won,
                key: key.clone(),
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

async fn run_batch(db: &DatabaseConnection, rules: &MissionRules, mut jobs: Vec<Job>) {
    // One lock order for every batch (by backer, whose wallet row each pledge updates), so two
    // batches never wait on each other in a cycle.
    jobs.sort_by(|a, b| a.backer_id.cmp(&b.backer_id));
    let txn = match db.begin().await {
        Ok(txn) => txn,
        Err(e) => {
            let message = e.to_string();
            for job in jobs {
                let _ = job
                    .reply
                    .send(Err(LedgerError::Database(sea_orm::DbErr::Custom(
                        message.clone(),
                    ))));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in &jobs {
        // Each pledge in its own savepoint: a refusal rolls back that pledge only.
        let result = match txn.begin().await {
            Ok(savepoint) => {
                match contribute_in(
                    &savepoint,
                    rules,
                    &job.mission_id,
                    &job.backer_id,
                    job.amount_won,
                    &job.key,
                )
                .await
                {
                    Ok(p) => savepoint
                        .commit()
                        .await
                        .map(|()| p)
                        .map_err(LedgerError::from),
                    Err(e) => {
                        let _ = savepoint.rollback().await;
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e.into()),
        };
        results.push(result);
    }
    match txn.commit().await {
        Ok(()) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            // Nothing of this batch stayed: every caller hears so, none is told it pledged.
            let message = e.to_string();
            for (job, result) in jobs.into_iter().zip(results) {
                let answer = match result {
                    Ok(_) => Err(LedgerError::Database(sea_orm::DbErr::Custom(
                        message.clone(),
                    ))),
                    refused => refused,
                };
                let _ = job.reply.send(answer);
            }
        }
    }
}
