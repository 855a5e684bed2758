//! Streamer lanes: how pledges are cut into batches.
//!
//! Every batch of a streamer's pledges ends by taking that streamer's feed row
//! ([`crate::events`]), held to the commit, so two batches of one streamer commit one after the
//! other whatever else runs. Pledges are therefore routed by their mission's streamer, one lane
//! each, and a lane keeps at most [`LANE_IN_FLIGHT`] batches in flight: one commits while the
//! next does its work, and everything that arrives meanwhile waits in the lane and becomes the
//! batch after. So a busy streamer's batches grow with the load (adaptive group commit) instead
//! of many small batches queueing on one row, and a quiet streamer's pledge goes alone at once.
//!
//! Lanes share `max_running` batches in flight in all (the database's connections); a lane
//! ready while all are taken waits its turn in arrival order, so no streamer starves another.
//! One task owns the lanes; batches run as their own tasks and report back when done.

use super::{Batches, Job};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Batches of one streamer in flight at once: one committing, one being prepared.
pub const LANE_IN_FLIGHT: usize = 2;

#[derive(Default)]
struct Lane {
    queue: VecDeque<Job>,
    in_flight: usize,
    /// Whether the lane is in the dispatcher's `ready` list.
    listed: bool,
}

/// The lanes and the batches in flight; owned by [`dispatch`].
struct Lanes {
    lanes: HashMap<Arc<str>, Lane>,
    /// Lanes with queued pledges and a free slot, waiting for a batch slot, oldest first.
    ready: VecDeque<Arc<str>>,
    running: usize,
    queued: usize,
    max_running: usize,
    max_batch: usize,
}

impl Lanes {
    fn push(&mut self, lane: Arc<str>, job: Job) {
        let l = self.lanes.entry(lane.clone()).or_default();
        l.queue.push_back(job);
        self.queued += 1;
        if !l.listed && l.in_flight < LANE_IN_FLIGHT {
            l.listed = true;
            self.ready.push_back(lane);
        }
    }

    fn done(&mut self, lane: &Arc<str>) {
        self.running -= 1;
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        l.in_flight -= 1;
        if l.queue.is_empty() && l.in_flight == 0 {
            self.lanes.remove(lane);
        } else if !l.listed && !l.queue.is_empty() {
            l.listed = true;
            self.ready.push_back(lane.clone());
        }
    }

    /// The next batch to run, if a slot is free: everything its lane has queued (up to
    /// `max_batch`).
    fn cut(&mut self) -> Option<(Arc<str>, Vec<Job>)> {
        if self.running >= self.max_running {
            return None;
        }
        let lane = self.ready.pop_front()?;
        let l = self
            .lanes
            .get_mut(&lane)
            .expect("a listed lane exists until it is empty");
        let n = l.queue.len().min(self.max_batch);
        let jobs: Vec<Job> = l.queue.drain(..n).collect();
        self.queued -= n;
        l.in_flight += 1;
        self.running += 1;
        l.listed = !l.queue.is_empty() && l.in_flight < LANE_IN_FLIGHT;
        if l.listed {
            self.ready.push_back(lane.clone());
        }
        Some((lane, jobs))
    }
}

/// Owns the lanes until every handle is dropped and everything queued is answered. A pledge
/// arrives with its lane (its mission's streamer).
pub(super) async fn dispatch(
    mut inbox: mpsc::Receiver<(Arc<str>, Job)>,
    batches: Arc<Batches>,
    max_running: usize,
    max_batch: usize,
    max_queued: usize,
) {
    let mut lanes = Lanes {
        lanes: HashMap::new(),
        ready: VecDeque::new(),
        running: 0,
        queued: 0,
        max_running: max_running.max(1),
        max_batch: max_batch.max(1),
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Arc<str>>();
    let mut open = true;
    loop {
        tokio::select! {
            // Finished batches first: they free slots for what is queued.
            biased;
            Some(lane) = done_rx.recv() => lanes.done(&lane),
            pledge = inbox.recv(), if open && lanes.queued < max_queued => match pledge {
                Some((lane, job)) => lanes.push(lane, job),
                None => open = false,
            },
        }
        while let Some((lane, jobs)) = lanes.cut() {
            let (batches, done_tx) = (batches.clone(), done_tx.clone());
            tokio::spawn(async move {
                batches.run(jobs).await;
                let _ = done_tx.send(lane);
            });
        }
        if !open && lanes.running == 0 && lanes.queued == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{PledgeNote, PledgeRequest};
    use crate::idempotency::IdempotencyKey;
    use tokio::sync::oneshot;

    fn job() -> Job {
        let (reply, _) = oneshot::channel();
        Job {
            request: PledgeRequest {
                mission_id: "m".into(),
                backer_id: "b".into(),
                amount_won: 1_000,
                key: IdempotencyKey::parse("k").expect("key"),
                note: PledgeNote::default(),
            },
            reply,
        }
    }

    fn lanes(max_running: usize, max_batch: usize) -> Lanes {
        Lanes {
            lanes: HashMap::new(),
            ready: VecDeque::new(),
            running: 0,
            queued: 0,
            max_running,
            max_batch,
        }
    }

    #[test]
    fn a_lane_keeps_two_batches_in_flight_and_cuts_the_next_from_everything_queued() {
        let mut l = lanes(8, 100);
        let s: Arc<str> = Arc::from("s");
        l.push(s.clone(), job());
        assert_eq!(
            l.cut().expect("first").1.len(),
            1,
            "a quiet lane's pledge goes at once"
        );
        l.push(s.clone(), job());
        assert_eq!(l.cut().expect("second").1.len(), 1);
        for _ in 0..5 {
            l.push(s.clone(), job());
        }
        assert!(
            l.cut().is_none(),
            "two in flight: the rest waits in the lane"
        );
        l.done(&s);
        let (lane, third) = l.cut().expect("third");
        assert_eq!(
            (&*lane, third.len()),
            ("s", 5),
            "everything queued, as one batch"
        );
        assert!(l.cut().is_none());
        l.done(&s);
        l.done(&s);
        assert!(l.lanes.is_empty(), "an idle lane is forgotten");
        assert_eq!((l.running, l.queued), (0, 0));
    }

    #[test]
    fn lanes_share_the_batches_in_flight_in_arrival_order() {
        let mut l = lanes(2, 100);
        for s in ["a", "b", "c"] {
            l.push(Arc::from(s), job());
        }
        assert_eq!(&*l.cut().expect("a").0, "a");
        assert_eq!(&*l.cut().expect("b").0, "b");
        assert!(l.cut().is_none(), "every slot taken");
        l.done(&Arc::from("a"));
        assert_eq!(&*l.cut().expect("c").0, "c", "the waiting lane goes next");
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_and_the_rest_follows() {
        let mut l = lanes(8, 3);
        let s: Arc<str> = Arc::from("s");
        for _ in 0..7 {
            l.push(s.clone(), job());
        }
        assert_eq!(l.cut().expect("one").1.len(), 3);
        assert_eq!(l.cut().expect("two").1.len(), 3);
        assert!(l.cut().is_none());
        l.done(&s);
        assert_eq!(l.cut().expect("three").1.len(), 1);
    }
}
