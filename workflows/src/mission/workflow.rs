//! The `Mission` workflow: one per mission, id `mission-<mission id>`.
//!
//! Workflow code is deterministic: time comes from `ctx.workflow_time()`, everything else from
//! activities.

use super::activities::MissionActivities;
use super::notices::{self, MissionNoticeWorkflow};
use super::payload::{
    ExpireInput, MissionInput, MissionResult, MissionSnapshot, MissionState, Notice, NoticeInput,
    OperatorActionSignal, Phase,
};
use crate::findable;
use crate::mission::delivery;
use crate::retry::{quick, retries};
use std::time::{Duration, UNIX_EPOCH};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, CancellableFuture, ChildWorkflowOptions, MemoValue,
    ParentClosePolicy, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// The workflow change that added the prediction game; histories without its marker replay
/// the code paths from before it.
pub const PREDICTION_PATCH: &str = "prediction-game";

/// The workflow change that made missions findable: the workflow upserts the `MissionStatus`,
/// `StreamerId` and `TotalPledgedWon` search attributes and a memo with the title. Histories
/// without its marker replay without those commands.
pub const FINDABLE_PATCH: &str = "search-attributes";

/// The workflow change that added the backers' objection window and disputes: it waits out a
/// VERIFYING mission's window (a durable timer, then `CloseObjectionWindow`) and a DISPUTED
/// mission's operator (signals only). Histories without its marker never saw those statuses.
pub const OBJECTION_PATCH: &str = "objection-window";

/// The workflow change that tells the backers while the mission runs (issue 28, item 5): on
/// seeing the mission ACTIVE, then VERIFYING, it starts a `MissionNotice` child for each, once,
/// and does not wait for it. Histories without its marker start none.
pub const NOTICES_PATCH: &str = "backer-notices";

/// The workflow change that added streamer goals (issue 28, item 1): a FUNDING goal waits for
/// its goal (a `statusChanged` signal, sent by the pledge that reached it) against the end of
/// its funding (a durable timer, then `ExpireMission` from FUNDING). Histories without its
/// marker never saw that status.
pub const GOALS_PATCH: &str = "streamer-goals";

/// What the workflow asks of the database when the moment it waits for comes.
#[derive(Clone, Copy)]
enum OnTimer {
    /// The accept window or the deadline passed: `ExpireMission`.
    Expire,
    /// Betting closes: `LockPrediction`.
    LockPrediction,
    /// The objection window ended: `CloseObjectionWindow`.
    CloseObjections,
}

/// The workflow's state: its phase and how many `statusChanged` signals arrived.
#[workflow]
#[derive(Default)]
pub struct MissionWorkflow {
    phase: Phase,
    signals: u64,
}

pub(crate) fn long_running() -> ActivityOptions {
    // No overall limit on a 100,000-pledge settlement, but a worker that stops heartbeating for
    // 30 s is presumed dead and the activity is retried elsewhere, resuming where it stopped.
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(24 * 3600))
        .heartbeat_timeout(delivery::HEARTBEAT_TIMEOUT)
        .retry_policy(retries())
        .build()
}

/// Upserts the mission's search attributes when its status or total changed since `shown`.
/// The workflow re-reads the mission only when signalled or when a timer fires (never per
/// pledge), so `TotalPledgedWon` is the total as of the last such read; the final one, after
/// pledges closed, is exact.
fn show(
    ctx: &WorkflowContext<MissionWorkflow>,
    snap: &MissionSnapshot,
    shown: &mut Option<(MissionState, i64)>,
) {
    let now = (snap.status, snap.total_pledged_won);
    if *shown == Some(now) {
        return;
    }
    *shown = Some(now);
    ctx.upsert_search_attributes([
        findable::MISSION_STATUS.value_set(snap.status.as_str().to_owned()),
        findable::STREAMER_ID.value_set(snap.streamer_id.clone()),
        findable::TOTAL_PLEDGED_WON.value_set(snap.total_pledged_won),
    ]);
}

/// Starts the backers' notice of the status `snap` is in, if it has one and it was not started
/// yet (`started` remembers which were considered, so the marker is asked once per notice).
/// The child runs on its own: abandoned, never awaited. A start refused because the child
/// already runs (a reset replaying this) leaves that one to send it.
async fn notify(
    ctx: &mut WorkflowContext<MissionWorkflow>,
    mission_id: &str,
    snap: &MissionSnapshot,
    started: &mut Vec<Notice>,
) {
    let notice = match snap.status {
        MissionState::Active => Notice::Accepted,
        MissionState::Verifying => Notice::Verifying,
        _ => return,
    };
    if started.contains(&notice) {
        return;
    }
    started.push(notice);
    if !ctx.patched(NOTICES_PATCH) {
        return;
    }
    let input = NoticeInput {
        mission_id: mission_id.to_owned(),
        notice,
    };
    let opts = ChildWorkflowOptions::builder()
        .workflow_id(notices::workflow_id(&input))
        .parent_close_policy(ParentClosePolicy::Abandon)
        .build();
    // Started or already running: either way the notice goes out.
    let _ = ctx
        .start_child_workflow(MissionNoticeWorkflow::run, input, opts)
        .await;
}

#[workflow_methods]
impl MissionWorkflow {
    /// Waits for the streamer against the accept window, then for the verdict against the
    /// deadline, then settles every pledge and the prediction game and sends the emails.
    #[run(name = "Mission")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: MissionInput,
    ) -> WorkflowResult<MissionResult> {
        let id = input.mission_id;
        // Signals counted *before* each read of the mission: one that arrives while the read is
        // in flight must still wake the wait that follows.
        let mut signals_seen = ctx.state(|s| s.signals);
        let findable = ctx.patched(FINDABLE_PATCH);
        let mut snap = ctx
            .execute_activity(MissionActivities::load_mission, id.clone(), quick())
            .await?;
        // What the search attributes say: (status, total pledged) as last upserted.
        let mut shown = None;
        if findable {
            // The title never changes: the memo is written once.
            ctx.upsert_memo([(
                findable::MEMO_TITLE,
                Some(MemoValue::new(snap.title.clone())),
            )])
            .map_err(|e| {
                ApplicationFailure::non_retryable(anyhow::anyhow!("the memo of {id}: {e}"))
            })?;
            show(ctx, &snap, &mut shown);
        }
        let mut noticed = Vec::new();
        notify(ctx, &id, &snap, &mut noticed).await;
        loop {
            // The phase, and the moment to wait for with what to do then (`None`: only a
            // signal ends the wait).
            let (phase, until) = match snap.status {
                MissionState::Funding if ctx.patched(GOALS_PATCH) => (
                    Phase::Funding,
                    Some((snap.accept_by_unix_ms, OnTimer::Expire)),
                ),
                MissionState::Funding => {
                    // Only a history recorded without the marker gets here, and none can have
                    // seen a goal: never settle one still funding.
                    return Err(ApplicationFailure::non_retryable(anyhow::anyhow!(
                        "mission {id} is FUNDING in a history without the {GOALS_PATCH} marker"
                    ))
                    .into());
                }
                MissionState::Pending => (
                    Phase::AwaitingAcceptance,
                    Some((snap.accept_by_unix_ms, OnTimer::Expire)),
                ),
                MissionState::Active => {
                    let Some(deadline) = snap.deadline_unix_ms else {
                        // `LoadMission` refuses such a mission; never expire one for it.
                        return Err(ApplicationFailure::non_retryable(anyhow::anyhow!(
                            "mission {id} is ACTIVE without a deadline"
                        ))
                        .into());
                    };
                    match snap.prediction_lock_unix_ms {
                        // Betting closes before the deadline: that is the next moment to wait for.
                        Some(lock)
                            if snap.prediction_open
                                && lock < deadline
                                && ctx.patched(PREDICTION_PATCH) =>
                        {
                            (Phase::InProgress, Some((lock, OnTimer::LockPrediction)))
                        }
                        _ => (Phase::InProgress, Some((deadline, OnTimer::Expire))),
                    }
                }
                MissionState::Verifying if ctx.patched(OBJECTION_PATCH) => {
                    let Some(until) = snap.objection_until_unix_ms else {
                        return Err(ApplicationFailure::non_retryable(anyhow::anyhow!(
                            "mission {id} is VERIFYING without the end of its objection window"
                        ))
                        .into());
                    };
                    (Phase::Verifying, Some((until, OnTimer::CloseObjections)))
                }
                // An operator settles the dispute (or cancels): no timer, only their signal.
                MissionState::Disputed if ctx.patched(OBJECTION_PATCH) => (Phase::Disputed, None),
                MissionState::Verifying | MissionState::Disputed => {
                    // Only a history recorded without the marker gets here, and none can have
                    // seen these statuses: never settle a verdict still open to objections.
                    return Err(ApplicationFailure::non_retryable(anyhow::anyhow!(
                        "mission {id} is {} in a history without the {OBJECTION_PATCH} marker",
                        snap.status.as_str()
                    ))
                    .into());
                }
                _ => break,
            };
            ctx.state_mut(|s| s.phase = phase);
            let fired = match until {
                None => {
                    ctx.wait_condition(|s: &Self| s.signals != signals_seen)
                        .await?;
                    None
                }
                Some((until_ms, on_timer)) => {
                    let now_ms = ctx
                        .workflow_time()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                    let wait = Duration::from_millis(
                        u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0),
                    );
                    if wait.is_zero() {
                        Some(on_timer)
                    } else {
                        let mut timer = Box::pin(ctx.timer(wait));
                        let fired = temporalio_sdk::workflows::select! {
                            _ = &mut timer => true,
                            _ = ctx.wait_condition(|s: &Self| s.signals != signals_seen) => false,
                        };
                        if !fired {
                            // The streamer acted first: the timer must not linger in the history.
                            timer.cancel();
                        }
                        fired.then_some(on_timer)
                    }
                }
            };
            signals_seen = ctx.state(|s| s.signals);
            snap = match fired {
                Some(OnTimer::LockPrediction) => {
                    ctx.execute_activity(MissionActivities::lock_prediction, id.clone(), quick())
                        .await?
                }
                Some(OnTimer::Expire) => {
                    ctx.execute_activity(
                        MissionActivities::expire_mission,
                        ExpireInput {
                            mission_id: id.clone(),
                            from: snap.status,
                        },
                        quick(),
                    )
                    .await?
                }
                Some(OnTimer::CloseObjections) => {
                    ctx.execute_activity(
                        MissionActivities::close_objection_window,
                        id.clone(),
                        quick(),
                    )
                    .await?
                }
                None => {
                    ctx.execute_activity(MissionActivities::load_mission, id.clone(), quick())
                        .await?
                }
            };
            if findable {
                show(ctx, &snap, &mut shown);
            }
            notify(ctx, &id, &snap, &mut noticed).await;
        }
        ctx.state_mut(|s| s.phase = Phase::Settling);
        let settlement = ctx
            .execute_activity(
                MissionActivities::settle_pledges,
                id.clone(),
                long_running(),
            )
            .await?;
        let prediction = if ctx.patched(PREDICTION_PATCH) {
            ctx.execute_activity(
                MissionActivities::settle_prediction,
                id.clone(),
                long_running(),
            )
            .await?
        } else {
            None
        };
        ctx.state_mut(|s| s.phase = Phase::Notifying);
        let emails = ctx
            .execute_activity(
                MissionActivities::send_mission_emails,
                id.clone(),
                long_running(),
            )
            .await?;
        ctx.state_mut(|s| s.phase = Phase::Done);
        Ok(MissionResult {
            status: snap.status,
            settlement,
            emails,
            prediction,
        })
    }

    /// The API changed the mission's status (accepted, rejected, decided, disputed): re-read
    /// it.
    #[signal(name = "statusChanged")]
    pub fn status_changed(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _status: String) {
        self.signals += 1;
    }

    /// An operator resolved the mission's dispute or cancelled it: re-read it. The signal
    /// carries the action (who, what, why), so the history records it.
    #[signal(name = "operatorAction")]
    pub fn operator_action(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        _action: OperatorActionSignal,
    ) {
        self.signals += 1;
    }

    /// Where the workflow is: `FUNDING` (a goal), `AWAITING_ACCEPTANCE`, `IN_PROGRESS`, `VERIFYING`, `DISPUTED`,
    /// `SETTLING`, `NOTIFYING`, `DONE`.
    #[query(name = "phase")]
    pub fn phase(&self, _ctx: &WorkflowContextView) -> Phase {
        self.phase
    }
}
