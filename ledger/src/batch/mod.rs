//! Group commit for pledges: many `contribute` calls share one database commit.
//!
//! A hot mission must not cost one durable commit per pledge (BRIEF §5). Callers hand their
//! pledge to a [`PledgeBatcher`] and wait. It routes each pledge to its mission's streamer's
//! lane ([`lanes`]), which cuts batches of everything queued while its previous batch commits;
//! a batch runs in one transaction — set-based on Postgres, each pledge in its own savepoint
//! otherwise, so a refused pledge (insufficient funds, closed mission, reused key) leaves
//! nothing — commits once, and only then answers every caller. So:
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
pub mod lanes;
pub(crate) mod pledge;
mod set;

pub use pledge::{Answer, PledgeNote, PledgeRequest};

use crate::LedgerError;
use crate::events::Announcer;
use crate::idempotency::IdempotencyKey;
use crate::rules::MissionRules;
use missionlink_entities::missions::mission;
use sea_orm::{DatabaseBackend, DatabaseConnection, EntityTrait, QuerySelect};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Pledges queued in the lanes before callers are pushed back.
const QUEUE: usize = 16_384;
/// Missions whose streamer the batcher remembers (a mission's streamer never changes).
const STREAMERS_REMEMBERED: u64 = 100_000;

/// Postgres batches this process ran again pledge by pledge because the set-based call failed.
static RERUNS: AtomicU64 = AtomicU64::new(0);

/// How many Postgres batches this process has run again pledge by pledge since it started
/// (the set-based call failed: a bug, or the database refused mid-batch). Tests check it stays
/// put where the set-based path must have answered.
pub fn reruns() -> u64 {
    RERUNS.load(Ordering::Relaxed)
}

struct Job {
    request: PledgeRequest,
    reply: oneshot::Sender<Answer>,
}

/// What every batch needs: the database, the rules, who to tell its size, and the wake-ups
/// its commit owes other processes.
struct Batches {
    db: DatabaseConnection,
    rules: MissionRules,
    on_batch: fn(usize),
    announcer: Announcer,
}

impl Batches {
    /// Commits `jobs` and answers them; `worked` is told when the batch is committing.
    async fn run(&self, jobs: Vec<Job>, worked: oneshot::Sender<()>) {
        (self.on_batch)(jobs.len());
        let (requests, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        let answers = commit_via(
            &self.db,
            &self.rules,
            &requests,
            &self.announcer,
            Some(worked),
        )
        .await;
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
    }
}

/// A handle to the lanes; cheap to clone.
#[derive(Clone)]
pub struct PledgeBatcher {
    queue: mpsc::Sender<(Arc<str>, Job)>,
    db: DatabaseConnection,
    streamers: moka::future::Cache<String, Arc<str>>,
}

impl PledgeBatcher {
    /// Starts the lanes: at most `max_running` batches in flight in all, each of at most
    /// `max_batch` pledges; `on_batch` hears each batch's size. Must run inside a Tokio runtime.
    pub fn start(
        db: DatabaseConnection,
        rules: MissionRules,
        max_running: usize,
        max_batch: usize,
        on_batch: fn(usize),
    ) -> Self {
        let (queue, inbox) = mpsc::channel(QUEUE);
        let batches = Arc::new(Batches {
            db: db.clone(),
            rules,
            on_batch,
            announcer: Announcer::start(db.clone()),
        });
        tokio::spawn(lanes::dispatch(
            inbox,
            batches,
            max_running,
            max_batch,
            QUEUE,
        ));
        Self {
            queue,
            db,
            streamers: moka::future::Cache::new(STREAMERS_REMEMBERED),
        }
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
        let lane = self.lane_of(mission_id).await?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            request: PledgeRequest {
                mission_id: mission_id.to_owned(),
                backer_id: backer_id.to_owned(),
                amount_won,
                key: key.clone(),
                note,
            },
            reply,
        };
        self.queue
            .send((lane, job))
            .await
            .map_err(|_| LedgerError::Corrupt("the pledge batcher stopped".into()))?;
        answer
            .await
            .map_err(|_| LedgerError::Corrupt("the pledge batcher dropped a pledge".into()))?
    }

    /// The lane of a pledge to `mission_id`: its streamer, remembered once read. A mission
    /// that does not exist goes to the lane named "" and is refused there, in its batch.
    async fn lane_of(&self, mission_id: &str) -> Result<Arc<str>, LedgerError> {
        if let Some(streamer) = self.streamers.get(mission_id).await {
            return Ok(streamer);
        }
        let streamer: Option<String> = mission::Entity::find_by_id(mission_id.to_owned())
            .select_only()
            .column(mission::Column::StreamerId)
            .into_tuple()
            .one(&self.db)
            .await?;
        let Some(streamer) = streamer else {
            return Ok(Arc::from(""));
        };
        let streamer: Arc<str> = Arc::from(streamer);
        self.streamers
            .insert(mission_id.to_owned(), streamer.clone())
            .await;
        Ok(streamer)
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
    commit_via(db, rules, requests, &Announcer::start(db.clone()), None).await
}

/// [`commit`], announcing what it committed through `announcer`, and telling `worked` when
/// the batch has done its work and is committing (Postgres's set-based call; otherwise it is
/// dropped when the batch ends).
async fn commit_via(
    db: &DatabaseConnection,
    rules: &MissionRules,
    requests: &[PledgeRequest],
    announcer: &Announcer,
    worked: Option<oneshot::Sender<()>>,
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
        match set::commit_set(db, rules, &sorted, announcer, worked).await {
            Ok(answers) => answers,
            Err(e) => {
                // Nothing of the batch stayed. Run it again pledge by pledge, so that whatever
                // failed fails alone (the idempotency keys make the second run safe even if the
                // first commit's outcome was lost).
                tracing::warn!(error = %e, size = sorted.len(), "set-based pledge batch failed; retrying pledge by pledge");
                RERUNS.fetch_add(1, Ordering::Relaxed);
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
