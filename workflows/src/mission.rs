//! The `Mission` workflow: one per mission, id `mission-<mission id>`.
//!
//! It owns time and settlement. It waits for the streamer against the accept window, then for
//! the verdict against the deadline, then settles every pledge and sends the emails. The
//! mission's status lives in the missions database, where each transition is one conditional
//! update (see `missionlink_ledger::mission`); the API's `statusChanged` signal only wakes the
//! workflow up, and a timer that fires asks the database to expire the mission *if it is still*
//! waiting. So a lost signal delays nothing beyond the timer, and a signal racing a timer cannot
//! produce two outcomes.
//!
//! Workflow code is deterministic: time comes from `ctx.workflow_time()`, everything else from
//! activities.

pub use crate::delivery::EmailSummary;
use crate::delivery::{self, EmailStep};
use crate::email::Mailer;
use missionlink_entities::missions::prediction as prediction_row;
use missionlink_ledger::changes;
use missionlink_ledger::mission::{self, MissionStatus};
use missionlink_ledger::prediction::{self, PredictionSettlement, PredictionStatus};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, CancellableFuture, SyncWorkflowContext, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};

/// What starts a mission's workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionInput {
    pub mission_id: String,
}

/// The mission as the workflow needs it: status and the moments it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionSnapshot {
    pub status: MissionStatus,
    pub accept_by_unix_ms: i64,
    pub deadline_unix_ms: Option<i64>,
    /// When betting closes, once the mission was accepted. (Absent from histories recorded
    /// before the prediction game, hence the defaults.)
    #[serde(default)]
    pub prediction_lock_unix_ms: Option<i64>,
    /// Whether betting is still open.
    #[serde(default)]
    pub prediction_open: bool,
}

/// The workflow change that added the prediction game; histories without its marker replay
/// the code paths from before it.
pub const PREDICTION_PATCH: &str = "prediction-game";

/// Asks the database to expire the mission if it is still `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireInput {
    pub mission_id: String,
    pub from: MissionStatus,
}

/// What settlement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementSummary {
    pub pledges: u64,
    pub amount_won: i64,
}

/// The workflow's result, readable in the Temporal UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionResult {
    pub status: MissionStatus,
    pub settlement: SettlementSummary,
    pub emails: EmailSummary,
    /// The prediction game's settlement, if the mission was accepted.
    #[serde(default)]
    pub prediction: Option<PredictionSettlement>,
}

/// Settlement and email tuning.
#[derive(Clone, Debug)]
pub struct SettlementSettings {
    pub fee_bps: u32,
    /// Pledges settled per database transaction.
    pub page_size: u64,
    /// Backers whose emails are prepared per page.
    pub email_page_size: u64,
}

/// Where the workflow is, for the `phase` query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    #[default]
    Starting,
    AwaitingAcceptance,
    InProgress,
    Settling,
    Notifying,
    Done,
}

fn to_unix_ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

fn activity_error(e: impl std::fmt::Display) -> ActivityError {
    ActivityError::from(anyhow::anyhow!("{e}"))
}

/// Activities of the mission workflow. Each is idempotent: status changes are conditional
/// updates, money moves only through transfers with deterministic ids, and an email is recorded
/// per (mission, recipient) once sent.
pub struct MissionActivities {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub settings: SettlementSettings,
}

async fn snapshot(
    db: &DatabaseConnection,
    m: &missionlink_entities::missions::mission::Model,
) -> Result<MissionSnapshot, ActivityError> {
    let prediction = prediction_row::Entity::find_by_id(m.id.clone())
        .one(db)
        .await
        .map_err(activity_error)?;
    Ok(MissionSnapshot {
        status: MissionStatus::parse(&m.status).map_err(activity_error)?,
        accept_by_unix_ms: to_unix_ms(m.accept_by),
        deadline_unix_ms: m.deadline.map(to_unix_ms),
        prediction_lock_unix_ms: prediction.as_ref().map(|p| to_unix_ms(p.lock_at)),
        prediction_open: prediction.is_some_and(|p| p.status == PredictionStatus::Open.as_str()),
    })
}

#[activities]
impl MissionActivities {
    /// Reads the mission's status and deadlines.
    #[activity(name = "LoadMission")]
    pub async fn load_mission(
        self: Arc<Self>,
        _ctx: ActivityContext,
        mission_id: String,
    ) -> Result<MissionSnapshot, ActivityError> {
        let m = mission::find(&self.missions_db, &mission_id)
            .await
            .map_err(activity_error)?;
        snapshot(&self.missions_db, &m).await
    }

    /// Closes betting on the mission's prediction (its lock time came); returns the mission.
    #[activity(name = "LockPrediction")]
    pub async fn lock_prediction(
        self: Arc<Self>,
        _ctx: ActivityContext,
        mission_id: String,
    ) -> Result<MissionSnapshot, ActivityError> {
        prediction::lock(&self.missions_db, &mission_id)
            .await
            .map_err(activity_error)?;
        changes::announce(&self.missions_db, &mission_id).await;
        let m = mission::find(&self.missions_db, &mission_id)
            .await
            .map_err(activity_error)?;
        snapshot(&self.missions_db, &m).await
    }

    /// Pays the prediction's pool out parimutuel (or refunds it), a page of bets per
    /// transaction, heartbeating; a retry continues with the bets not yet paid.
    #[activity(name = "SettlePrediction")]
    pub async fn settle_prediction(
        self: Arc<Self>,
        ctx: ActivityContext,
        mission_id: String,
    ) -> Result<Option<PredictionSettlement>, ActivityError> {
        prediction::lock(&self.missions_db, &mission_id)
            .await
            .map_err(activity_error)?;
        let Some(plan) = prediction::plan(&self.missions_db, &mission_id)
            .await
            .map_err(activity_error)?
        else {
            return Ok(None);
        };
        let mut summary: PredictionSettlement = ctx
            .heartbeat_details()
            .deserialize()
            .ok()
            .flatten()
            .unwrap_or_default();
        let page_size = usize::try_from(self.settings.page_size)
            .unwrap_or(usize::MAX)
            .max(1);
        for page in plan.pending.chunks(page_size) {
            let done =
                prediction::apply_payouts(&self.missions_db, &mission_id, plan.refunded, page)
                    .await
                    .map_err(activity_error)?;
            summary.bets += done.bets;
            summary.points_paid = summary.points_paid.saturating_add(done.points_paid);
            ctx.record_heartbeat(summary)
                .await
                .map_err(activity_error)?;
        }
        summary.refunded = plan.refunded;
        prediction::finish(&self.missions_db, &mission_id, plan.refunded)
            .await
            .map_err(activity_error)?;
        let settled = Some(summary);
        changes::announce(&self.missions_db, &mission_id).await;
        Ok(settled)
    }

    /// Expires the mission if it is still waiting; returns it as it is now.
    #[activity(name = "ExpireMission")]
    pub async fn expire_mission(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ExpireInput,
    ) -> Result<MissionSnapshot, ActivityError> {
        let m = mission::expire(&self.missions_db, &input.mission_id, input.from)
            .await
            .map_err(activity_error)?;
        changes::announce(&self.missions_db, &input.mission_id).await;
        snapshot(&self.missions_db, &m).await
    }

    /// Pays or refunds every held pledge, a page per transaction, heartbeating the running
    /// total; then sets `settledAt`. A retry (after a crash or a lost heartbeat) continues with
    /// the pledges still held.
    #[activity(name = "SettlePledges")]
    pub async fn settle_pledges(
        self: Arc<Self>,
        ctx: ActivityContext,
        mission_id: String,
    ) -> Result<SettlementSummary, ActivityError> {
        let started = std::time::Instant::now();
        let result = self.settle_all(&ctx, &mission_id).await;
        match &result {
            Ok(_) => {
                let status = mission::find(&self.missions_db, &mission_id)
                    .await
                    .map(|m| m.status)
                    .unwrap_or_default();
                missionlink_telemetry::metrics()
                    .mission_settled(&status, started.elapsed().as_secs_f64());
            }
            Err(_) => missionlink_telemetry::metrics().settlement_failed(),
        }
        result
    }

    /// Sends each backer their message and the streamer a summary, skipping whoever has one
    /// recorded already (see [`crate::delivery`]).
    #[activity(name = "SendMissionEmails")]
    pub async fn send_mission_emails(
        self: Arc<Self>,
        ctx: ActivityContext,
        mission_id: String,
    ) -> Result<EmailSummary, ActivityError> {
        EmailStep {
            missions_db: &self.missions_db,
            users_db: &self.users_db,
            mailer: &self.mailer,
            page_size: delivery::page_size(self.settings.email_page_size, &self.mailer),
        }
        .run(&ctx, &mission_id)
        .await
    }
}

impl MissionActivities {
    /// The body of `SettlePledges`: pages until nothing is held, then `settledAt`.
    async fn settle_all(
        &self,
        ctx: &ActivityContext,
        mission_id: &str,
    ) -> Result<SettlementSummary, ActivityError> {
        let mission_id = mission_id.to_owned();
        let mut summary: SettlementSummary = ctx
            .heartbeat_details()
            .deserialize()
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut after: Option<String> = None;
        loop {
            let page = mission::settle_page(
                &self.missions_db,
                &mission_id,
                after.as_deref(),
                self.settings.page_size,
                self.settings.fee_bps,
            )
            .await
            .map_err(activity_error)?;
            if page.pledges == 0 {
                break;
            }
            summary.pledges += page.pledges;
            summary.amount_won = summary.amount_won.saturating_add(page.amount_won);
            after = page.last_pledge_id;
            ctx.record_heartbeat(summary)
                .await
                .map_err(activity_error)?;
        }
        let m = mission::mark_settled(&self.missions_db, &mission_id)
            .await
            .map_err(activity_error)?;
        if m.settled_at.is_none() {
            return Err(activity_error(format!(
                "mission {mission_id} still has held pledges"
            )));
        }
        changes::announce(&self.missions_db, &mission_id).await;
        Ok(summary)
    }
}

/// The workflow's state: its phase and how many `statusChanged` signals arrived.
#[workflow]
#[derive(Default)]
pub struct MissionWorkflow {
    phase: Phase,
    signals: u64,
}

fn quick() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30)).build()
}

fn long_running() -> ActivityOptions {
    // No overall limit on a 100,000-pledge settlement, but a worker that stops heartbeating for
    // 30 s is presumed dead and the activity is retried elsewhere, resuming where it stopped.
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(24 * 3600))
        .heartbeat_timeout(delivery::HEARTBEAT_TIMEOUT)
        .build()
}

#[workflow_methods]
impl MissionWorkflow {
    #[run(name = "Mission")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: MissionInput,
    ) -> WorkflowResult<MissionResult> {
        let id = input.mission_id;
        // Signals counted *before* each read of the mission: one that arrives while the read is
        // in flight must still wake the wait that follows.
        let mut signals_seen = ctx.state(|s| s.signals);
        let mut snap = ctx
            .execute_activity(MissionActivities::load_mission, id.clone(), quick())
            .await?;
        loop {
            let (phase, until_ms, lock_first) = match snap.status {
                MissionStatus::Pending => {
                    (Phase::AwaitingAcceptance, snap.accept_by_unix_ms, false)
                }
                MissionStatus::Active => {
                    let deadline = snap.deadline_unix_ms.unwrap_or(snap.accept_by_unix_ms);
                    match snap.prediction_lock_unix_ms {
                        // Betting closes before the deadline: that is the next moment to wait for.
                        Some(lock)
                            if snap.prediction_open
                                && lock < deadline
                                && ctx.patched(PREDICTION_PATCH) =>
                        {
                            (Phase::InProgress, lock, true)
                        }
                        _ => (Phase::InProgress, deadline, false),
                    }
                }
                _ => break,
            };
            ctx.state_mut(|s| s.phase = phase);
            let now_ms = ctx
                .workflow_time()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let wait =
                Duration::from_millis(u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0));
            let timer_fired = if wait.is_zero() {
                true
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
                fired
            };
            signals_seen = ctx.state(|s| s.signals);
            snap = if timer_fired && lock_first {
                ctx.execute_activity(MissionActivities::lock_prediction, id.clone(), quick())
                    .await?
            } else if timer_fired {
                ctx.execute_activity(
                    MissionActivities::expire_mission,
                    ExpireInput {
                        mission_id: id.clone(),
                        from: snap.status,
                    },
                    quick(),
                )
                .await?
            } else {
                ctx.execute_activity(MissionActivities::load_mission, id.clone(), quick())
                    .await?
            };
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

    /// The API changed the mission's status (accepted, rejected, decided): re-read it.
    #[signal(name = "statusChanged")]
    pub fn status_changed(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _status: String) {
        self.signals += 1;
    }

    /// Where the workflow is: `AWAITING_ACCEPTANCE`, `IN_PROGRESS`, `SETTLING`, `NOTIFYING`,
    /// `DONE`.
    #[query(name = "phase")]
    pub fn phase(&self, _ctx: &WorkflowContextView) -> Phase {
        self.phase
    }
}

/// The complete history of a finished mission workflow, protobuf-encoded: the form in which
/// histories are committed as replay fixtures (`workflows/tests/fixtures/`).
pub async fn recorded_history(
    client: &temporalio_client::Client,
    mission_id: &str,
) -> anyhow::Result<Vec<u8>> {
    use prost::Message;
    let events = client
        .get_workflow_handle::<MissionWorkflow>(missionlink_ledger::mission::workflow_id(
            mission_id,
        ))
        .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
        .into_events()
        .await?;
    let history = temporalio_common::protos::temporal::api::history::v1::History { events };
    Ok(history.encode_to_vec())
}

/// Replays a recorded history against today's workflow code: an error means the code would
/// no longer replay missions already running in production (a non-deterministic change).
pub async fn replay(encoded_history: &[u8]) -> anyhow::Result<()> {
    use prost::Message;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let history =
        temporalio_common::protos::temporal::api::history::v1::History::decode(encoded_history)?;
    let mut options = WorkflowReplayerOptions::new().build();
    options.register_workflow::<MissionWorkflow>()?;
    WorkflowReplayer::new(options)?
        .replay_workflow(history.into())
        .await?;
    Ok(())
}
