//! The mission workflow's activities. Each is idempotent: status changes are conditional
//! updates, money moves only through transfers with deterministic ids, and an email is recorded
//! per (mission, recipient) once sent. Each classifies its errors (see [`crate::failure`]).

use super::payload::{
    EmailSummary, ExpireInput, MissionSnapshot, NoticeInput, PredictionSummary, SettlementSummary,
};
use crate::email::Mailer;
use crate::failure;
use crate::mission::delivery::{self, EmailStep};
use missionlink_entities::missions::{mission as mission_row, prediction as prediction_row};
use missionlink_ledger::status::{MissionStatus, PredictionStatus};
use missionlink_ledger::{LedgerError, mission, prediction};
use sea_orm::{DatabaseBackend, DatabaseConnection, EntityTrait};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Every activity's name, for the failure metric's series.
pub const ACTIVITY_NAMES: [&str; 8] = [
    "LoadMission",
    "LockPrediction",
    "SettlePrediction",
    "ExpireMission",
    "CloseObjectionWindow",
    "SettlePledges",
    "SendMissionEmails",
    "SendBackerNotice",
];

/// How far ahead of this process's clock a timer may fire (the Temporal server's clock runs a
/// little ahead): `ExpireMission` waits up to this long for the moment to pass here; beyond it,
/// it fails retryably and Temporal retries it with backoff, rather than answering "not yet"
/// and sending the workflow round again.
pub const EXPIRY_CLOCK_SLACK: std::time::Duration = std::time::Duration::from_secs(10);

/// Settlement and email tuning.
#[derive(Clone, Debug)]
pub struct SettlementSettings {
    pub fee_bps: u32,
    /// Pledges (and bets) settled per database transaction.
    pub page_size: u64,
    /// Pledge pages of one mission settled side by side (Postgres; SQLite has one writer).
    pub pages_in_flight: u64,
    /// Backers whose emails are prepared per page.
    pub email_page_size: u64,
    /// `PUBLIC_URL`: every mission email links the mission's page under it.
    pub public_url: String,
    /// `OPERATOR_CONTACT`: where a cancelled mission's emails say to ask.
    pub operator_contact: String,
}

/// The activities' shared resources.
pub struct MissionActivities {
    pub missions_db: DatabaseConnection,
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub settings: SettlementSettings,
}

fn to_unix_ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// The mission as the workflow sees it. An ACTIVE mission without a deadline is corrupt: the
/// workflow would have nothing to wait for.
async fn snapshot(
    activity: &str,
    db: &DatabaseConnection,
    m: &mission_row::Model,
) -> Result<MissionSnapshot, ActivityError> {
    if m.status == MissionStatus::Active && m.deadline.is_none() {
        return Err(failure::ledger(
            activity,
            LedgerError::Corrupt(format!("mission {} is ACTIVE without a deadline", m.id)),
        ));
    }
    let prediction = prediction_row::Entity::find_by_id(m.id.clone())
        .one(db)
        .await
        .map_err(failure::retryable)?;
    let totals = mission::totals(db, &m.id)
        .await
        .map_err(|e| failure::ledger(activity, e))?;
    Ok(MissionSnapshot {
        status: m.status.into(),
        accept_by_unix_ms: to_unix_ms(m.accept_by),
        deadline_unix_ms: m.deadline.map(to_unix_ms),
        prediction_lock_unix_ms: prediction.as_ref().map(|p| to_unix_ms(p.lock_at)),
        prediction_open: prediction.is_some_and(|p| p.status == PredictionStatus::Open),
        streamer_id: m.streamer_id.clone(),
        title: m.title.clone(),
        total_pledged_won: totals.total_won,
        objection_until_unix_ms: m.objection_until.map(to_unix_ms),
    })
}

/// Waits until `due` has passed by this process's clock, if it is at most
/// [`EXPIRY_CLOCK_SLACK`] away; further away, fails retryably (Temporal retries with backoff,
/// with no history events) until it has.
async fn wait_until_due(
    what: &str,
    due: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), ActivityError> {
    if let Some(early) = due.and_then(|due| (due - chrono::Utc::now()).to_std().ok()) {
        if early > EXPIRY_CLOCK_SLACK {
            return Err(failure::retryable(format!(
                "{what} is due in {} s by this worker's clock",
                early.as_secs()
            )));
        }
        tokio::time::sleep(early).await;
    }
    Ok(())
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
        let fail = |e| failure::ledger("LoadMission", e);
        let m = mission::find(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?;
        snapshot("LoadMission", &self.missions_db, &m).await
    }

    /// Closes betting on the mission's prediction (its lock time came); returns the mission.
    #[activity(name = "LockPrediction")]
    pub async fn lock_prediction(
        self: Arc<Self>,
        _ctx: ActivityContext,
        mission_id: String,
    ) -> Result<MissionSnapshot, ActivityError> {
        let fail = |e| failure::ledger("LockPrediction", e);
        prediction::lock(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?;
        let m = mission::find(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?;
        snapshot("LockPrediction", &self.missions_db, &m).await
    }

    /// Pays the prediction's pool out parimutuel (or refunds it), a page of bets per
    /// transaction, heartbeating; a retry continues with the bets not yet paid.
    #[activity(name = "SettlePrediction")]
    pub async fn settle_prediction(
        self: Arc<Self>,
        ctx: ActivityContext,
        mission_id: String,
    ) -> Result<Option<PredictionSummary>, ActivityError> {
        let fail = |e| failure::ledger("SettlePrediction", e);
        prediction::lock(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?;
        let Some(plan) = prediction::plan(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?
        else {
            return Ok(None);
        };
        let mut summary: PredictionSummary = ctx
            .heartbeat_details()
            .deserialize()
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut after: Option<String> = None;
        loop {
            let page = prediction::settle_page(
                &self.missions_db,
                &mission_id,
                &plan,
                after.as_deref(),
                self.settings.page_size,
            )
            .await
            .map_err(fail)?;
            if page.bets == 0 {
                break;
            }
            summary.bets += page.bets;
            summary.points_paid = summary
                .points_paid
                .checked_add(page.points_paid)
                .ok_or_else(|| fail(LedgerError::Corrupt("points paid overflow".into())))?;
            after = page.last_bet_id;
            ctx.record_heartbeat(summary)
                .await
                .map_err(failure::retryable)?;
        }
        summary.refunded = plan.refunded();
        prediction::finish(&self.missions_db, &mission_id, &plan)
            .await
            .map_err(fail)?;
        Ok(Some(summary))
    }

    /// Expires the mission if it is still waiting and its moment has passed; returns it as it
    /// is now.
    #[activity(name = "ExpireMission")]
    pub async fn expire_mission(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ExpireInput,
    ) -> Result<MissionSnapshot, ActivityError> {
        let fail = |e| failure::ledger("ExpireMission", e);
        let from = MissionStatus::from(input.from);
        let m = mission::find(&self.missions_db, &input.mission_id)
            .await
            .map_err(fail)?;
        let due = match from {
            MissionStatus::Pending | MissionStatus::Funding => Some(m.accept_by),
            _ => m.deadline,
        };
        // This worker's clock may be behind the server's timer.
        wait_until_due(&format!("mission {}", input.mission_id), due).await?;
        let m = mission::expire(&self.missions_db, &input.mission_id, from)
            .await
            .map_err(fail)?;
        snapshot("ExpireMission", &self.missions_db, &m).await
    }

    /// Ends the backers' objection window (its timer fired): a mission still VERIFYING
    /// succeeds; one DISPUTED or cancelled meanwhile stays as it is. Returns it as it is now.
    #[activity(name = "CloseObjectionWindow")]
    pub async fn close_objection_window(
        self: Arc<Self>,
        _ctx: ActivityContext,
        mission_id: String,
    ) -> Result<MissionSnapshot, ActivityError> {
        let fail = |e| failure::ledger("CloseObjectionWindow", e);
        let m = mission::find(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?;
        if m.status == MissionStatus::Verifying {
            wait_until_due(
                &format!("the objection window of mission {mission_id}"),
                m.objection_until,
            )
            .await?;
        }
        let m = mission::objection::close_window(&self.missions_db, &mission_id)
            .await
            .map_err(fail)?;
        snapshot("CloseObjectionWindow", &self.missions_db, &m).await
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
                    .map(|m| m.status.as_str())
                    .unwrap_or_default();
                missionlink_telemetry::metrics()
                    .mission_settled(status, started.elapsed().as_secs_f64());
            }
            Err(_) => missionlink_telemetry::metrics().settlement_failed(),
        }
        result
    }

    /// Sends each backer their message and the streamer a summary, skipping whoever has one
    /// recorded already (see [`crate::mission::delivery`]).
    #[activity(name = "SendMissionEmails")]
    pub async fn send_mission_emails(
        self: Arc<Self>,
        ctx: ActivityContext,
        mission_id: String,
    ) -> Result<EmailSummary, ActivityError> {
        self.email_step().run(&ctx, &mission_id).await
    }

    /// Sends each backer who wants it a notice while the mission runs (accepted; a success
    /// verdict open to objections), skipping whoever has it recorded already, at the same rate
    /// and with the same exactly-once recording as the result emails.
    #[activity(name = "SendBackerNotice")]
    pub async fn send_backer_notice(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: NoticeInput,
    ) -> Result<EmailSummary, ActivityError> {
        self.email_step()
            .notify(&ctx, &input.mission_id, input.notice)
            .await
    }
}

impl MissionActivities {
    /// The email step on this worker's databases and mailer, its page sized to the send rate.
    fn email_step(&self) -> EmailStep<'_> {
        EmailStep {
            missions_db: &self.missions_db,
            users_db: &self.users_db,
            mailer: &self.mailer,
            page_size: delivery::page_size(self.settings.email_page_size, &self.mailer),
            public_url: &self.settings.public_url,
            contact: &self.settings.operator_contact,
        }
    }

    /// The body of `SettlePledges`: [`SettlementSettings::pages_in_flight`] settlers take pages
    /// side by side until none is held, then `settledAt`. Each keeps its own place; Postgres
    /// hands each page's pledges to one of them (`SKIP LOCKED`).
    async fn settle_all(
        &self,
        ctx: &ActivityContext,
        mission_id: &str,
    ) -> Result<SettlementSummary, ActivityError> {
        let fail = |e| failure::ledger("SettlePledges", e);
        let resumed: SettlementSummary = ctx
            .heartbeat_details()
            .deserialize()
            .ok()
            .flatten()
            .unwrap_or_default();
        let summary = tokio::sync::Mutex::new(resumed);
        let settlers = match self.missions_db.get_database_backend() {
            DatabaseBackend::Postgres => self.settings.pages_in_flight.max(1),
            _ => 1,
        };
        let settler = || async {
            let mut after: Option<String> = None;
            loop {
                let page = mission::settle_page(
                    &self.missions_db,
                    mission_id,
                    after.as_deref(),
                    self.settings.page_size,
                    self.settings.fee_bps,
                )
                .await
                .map_err(fail)?;
                if page.pledges == 0 {
                    return Ok::<(), ActivityError>(());
                }
                // The total is heartbeated while it is held, so the settlers' heartbeats never
                // go back (a retry resumes from the last one).
                let mut s = summary.lock().await;
                s.pledges += page.pledges;
                s.amount_won = s
                    .amount_won
                    .checked_add(page.amount_won)
                    .ok_or_else(|| fail(LedgerError::Corrupt("settled won overflow".into())))?;
                ctx.record_heartbeat(*s).await.map_err(failure::retryable)?;
                drop(s);
                after = page.last_pledge_id;
            }
        };
        futures::future::try_join_all((0..settlers).map(|_| settler())).await?;
        let summary = summary.into_inner();
        let m = mission::mark_settled(&self.missions_db, mission_id)
            .await
            .map_err(fail)?;
        if m.settled_at.is_none() {
            // Another settler holds the rest; the retry finishes them.
            return Err(failure::retryable(format!(
                "mission {mission_id} still has held pledges"
            )));
        }
        Ok(summary)
    }
}
