//! Streamer lanes: how pledges are cut into batches.
//!
//! Every batch of a streamer's pledges ends by taking that streamer's feed row
//! ([`crate::events`]), held to the commit, so two batches of one streamer commit one after the
//! other whatever else runs. Pledges are therefore routed by their mission's streamer, one lane
//! each, and a lane keeps at most [`LANE_IN_FLIGHT`] batches in flight: one commits while the
//! next does its work. The next is cut only once the one before has done its work (its call
//! answered: it is committing), from everything that arrived meanwhile; cut any earlier, it
//! would take the one or two pledges that came in since and wait on the feed row. So a busy
//! streamer's batches grow with the load (adaptive group commit) instead of many small batches
//! queueing on one row, and a quiet streamer's pledge goes alone at once.
//!
//! Lanes share `max_running` batches in flight in all (the database's connections). A batch
//! starts with the lane ready longest and takes the next ready lanes too while it has room, so
//! many quiet streamers share a commit as one busy streamer does (each such lane counts the
//! batch as one of its own two; feed rows are locked in streamer order, so batches sharing
//! lanes never wait on each other in a cycle); no streamer starves another. One task owns the
//! lanes; batches run as their own tasks and report back when done.

use super::{Batches, Job};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Batches of one streamer in flight at once: one committing, one being prepared.
pub const LANE_IN_FLIGHT: usize = 2;

#[derive(Default)]
struct Lane {
    queue: VecDeque<Job>,
    in_flight: usize,
    /// Of those, batches still doing their work (not yet committing).
    working: usize,
    /// Whether the lane is in the dispatcher's `ready` list.
    listed: bool,
}

impl Lane {
    /// Whether a batch may be cut from this lane now (it has pledges queued).
    fn may_cut(&self) -> bool {
        !self.queue.is_empty() && self.in_flight < LANE_IN_FLIGHT && self.working == 0
    }
}

/// What a batch's task tells the dispatcher about its lanes, in this order.
enum Report {
    /// The batch has done its work and is committing (or ended without saying so).
    Worked(Vec<Arc<str>>),
    /// The batch has committed (or failed) and answered its callers.
    Done(Vec<Arc<str>>),
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
        if !l.listed && l.may_cut() {
            l.listed = true;
            self.ready.push_back(lane);
        }
    }

    /// A batch over `lanes` has done its work and is committing.
    fn worked(&mut self, lanes: &[Arc<str>]) {
        for lane in lanes {
            let Some(l) = self.lanes.get_mut(lane) else {
                continue;
            };
            l.working -= 1;
            self.relist(lane);
        }
    }

    /// A batch over `lanes` finished.
    fn done(&mut self, lanes: &[Arc<str>]) {
        self.running -= 1;
        for lane in lanes {
            let Some(l) = self.lanes.get_mut(lane) else {
                continue;
            };
            l.in_flight -= 1;
            if l.queue.is_empty() && l.in_flight == 0 {
                self.lanes.remove(lane);
            } else {
                self.relist(lane);
            }
        }
    }

    /// Puts `lane` back in the ready list if a batch may be cut from it now.
    fn relist(&mut self, lane: &Arc<str>) {
        if let Some(l) = self.lanes.get_mut(lane)
            && !l.listed
            && l.may_cut()
        {
            l.listed = true;
            self.ready.push_back(lane.clone());
        }
    }

    /// The next batch to run, if a slot is free: everything the lane ready longest has queued,
    /// then the next ready lanes' while there is room (up to `max_batch` pledges).
    fn cut(&mut self) -> Option<(Vec<Arc<str>>, Vec<Job>)> {
        if self.running >= self.max_running || self.ready.is_empty() {
            return None;
        }
        let mut lanes = Vec::new();
        let mut jobs: Vec<Job> = Vec::new();
        while jobs.len() < self.max_batch {
            let Some(lane) = self.ready.pop_front() else {
                break;
            };
            let l = self
                .lanes
                .get_mut(&lane)
                .expect("a listed lane exists until it is empty");
            let n = l.queue.len().min(self.max_batch - jobs.len());
            jobs.extend(l.queue.drain(..n));
            self.queued -= n;
            l.in_flight += 1;
            l.working += 1;
            l.listed = l.may_cut();
            if l.listed {
                self.ready.push_back(lane.clone());
            }
            lanes.push(lane);
        }
        self.running += 1;
        Some((lanes, jobs))
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
    let (report_tx, mut reports) = mpsc::unbounded_channel::<Report>();
    let mut open = true;
    loop {
        tokio::select! {
            // Batches' reports first: they free lanes and slots for what is queued.
            biased;
            Some(report) = reports.recv() => match report {
                Report::Worked(worked) => lanes.worked(&worked),
                Report::Done(finished) => lanes.done(&finished),
            },
            pledge = inbox.recv(), if open && lanes.queued < max_queued => match pledge {
                Some((lane, job)) => lanes.push(lane, job),
                None => open = false,
            },
        }
        while let Some((cut, jobs)) = lanes.cut() {
            let (batches, report_tx) = (batches.clone(), report_tx.clone());
            tokio::spawn(async move {
                // The batch runs as its own task, so that its lanes are told it finished even
                // if it panicked (its callers then hear that their pledge was dropped).
                let (worked_tx, worked) = oneshot::channel();
                let run = tokio::spawn(async move { batches.run(jobs, worked_tx).await });
                // Sent as it commits, or dropped when it ends without saying so: either way
                // before `Done`, on the same channel.
                let _ = worked.await;
                let _ = report_tx.send(Report::Worked(cut.clone()));
                if let Err(e) = run.await {
                    tracing::error!(error = %e, "a pledge batch panicked");
                }
                let _ = report_tx.send(Report::Done(cut));
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
        assert!(
            l.cut().is_none(),
            "the next waits for the first to do its work"
        );
        l.push(s.clone(), job());
        l.worked(std::slice::from_ref(&s));
        assert_eq!(
            l.cut().expect("second").1.len(),
            2,
            "what came while the first worked"
        );
        l.worked(std::slice::from_ref(&s));
        for _ in 0..5 {
            l.push(s.clone(), job());
        }
        assert!(
            l.cut().is_none(),
            "two in flight: the rest waits in the lane"
        );
        l.done(std::slice::from_ref(&s));
        let (lanes, third) = l.cut().expect("third");
        assert_eq!(
            (lanes, third.len()),
            (vec![s.clone()], 5),
            "everything queued, as one batch"
        );
        assert!(l.cut().is_none());
        l.done(std::slice::from_ref(&s));
        l.done(std::slice::from_ref(&s));
        assert!(l.lanes.is_empty(), "an idle lane is forgotten");
        assert_eq!((l.running, l.queued), (0, 0));
    }

    #[test]
    fn ready_lanes_share_a_batch_and_never_exceed_two_in_flight() {
        let mut l = lanes(1, 100);
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) =
            (Arc::from("a"), Arc::from("b"), Arc::from("c"));
        l.push(a.clone(), job());
        let (first, _) = l.cut().expect("a alone");
        assert_eq!(first, vec![a.clone()]);
        // While the only slot is taken, three lanes become ready (a once its batch has done
        // its work): one batch takes them all, in the order they became ready.
        for lane in [&b, &a, &c, &b] {
            l.push(lane.clone(), job());
        }
        assert!(l.cut().is_none(), "every slot taken");
        l.worked(&first);
        l.done(&first);
        let (lanes, jobs) = l.cut().expect("b, c and a");
        assert_eq!(lanes, vec![b.clone(), c.clone(), a.clone()]);
        assert_eq!(jobs.len(), 4);
    }

    #[test]
    fn a_lane_in_two_batches_waits_for_one_to_finish() {
        let mut l = lanes(8, 100);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        l.push(a.clone(), job());
        l.push(b.clone(), job());
        assert_eq!(l.cut().expect("a and b").0, vec![a.clone(), b.clone()]);
        l.worked(&[a.clone(), b.clone()]);
        l.push(a.clone(), job());
        assert_eq!(l.cut().expect("a again").0, vec![a.clone()]);
        l.worked(std::slice::from_ref(&a));
        l.push(a.clone(), job());
        l.push(b.clone(), job());
        assert_eq!(
            l.cut().expect("b only").0,
            vec![b.clone()],
            "a has two in flight"
        );
        l.done(&[a.clone(), b.clone()]);
        assert_eq!(l.cut().expect("a's last").0, vec![a.clone()]);
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_and_the_rest_follows() {
        let mut l = lanes(8, 3);
        let s: Arc<str> = Arc::from("s");
        for _ in 0..7 {
            l.push(s.clone(), job());
        }
        assert_eq!(l.cut().expect("one").1.len(), 3);
        l.worked(std::slice::from_ref(&s));
        assert_eq!(l.cut().expect("two").1.len(), 3);
        l.worked(std::slice::from_ref(&s));
        assert!(l.cut().is_none());
        l.done(std::slice::from_ref(&s));
        assert_eq!(l.cut().expect("three").1.len(), 1);
    }
}
