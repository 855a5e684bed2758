//! The email step of a finished mission (`SendMissionEmails`): each backer's message, then the
//! streamer's summary, each sent once. The backers' notices while a mission runs
//! (`SendBackerNotice`: accepted, a verdict open to objections) are the same step with another
//! letter (`outgoing::Letter`), recorded under their own role.
//!
//! Exactly once, except for a crash, and then at most the sends in flight are repeated:
//! - through a transport whose resend would be a second message (SES), a delivery is recorded
//!   in `email_deliveries` as soon as its send succeeded (what completed together is recorded
//!   together, at most [`RECORD_GROUP`] rows a statement), and no new send starts while a
//!   record is being written;
//! - through one whose resend replaces the first message (files named after it), a page is
//!   written while the page before it is recorded and the page after it is read: a crash
//!   rewrites at most those two pages' files, and adds none;
//! - recording is retried here, in the process, for up to [`RECORD_RETRY_FOR`] (the database
//!   restarting, the pool waiting), instead of failing the attempt, whose retry would resend;
//! - the activity heartbeats every [`HEARTBEAT_EVERY`] whatever is in flight (a page at the SES
//!   rate, a stalled SES request, a record being retried), so Temporal never starts a second
//!   attempt beside a first one that is alive; the heartbeat's cursor moves past a page only once
//!   all of it is recorded;
//! - a page holds at most what the send rate gets through in half the heartbeat timeout.
//!
//! A recipient refused for good (an address that does not parse, or one SES rejects) is recorded
//! as `FAILED` with the reason and counted (`missionlink_emails_rejected_total`, alerted on); it
//! never fails the step and is never retried. Any other failure ends the attempt once its page is
//! recorded; the retry skips every recorded recipient, so it sends only what is missing.

use super::outgoing::{Letter, Outcome, Outgoing, facts, message, split, take_record};
use crate::email::{Mailer, MissionFacts, streamer_message};
use crate::failure::retryable;
use crate::mission::payload::{EmailSummary, MissionState, Notice};
use futures::{FutureExt, StreamExt};
use missionlink_entities::missions::email_delivery;
use missionlink_identity::users::{self as identity, Recipient};
use missionlink_ledger::mission;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashSet;
use std::time::Duration;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Temporal presumes an attempt dead after this long without a heartbeat and starts another.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a running email step heartbeats, whatever it is waiting for.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// Most delivery rows written by one statement.
pub const RECORD_GROUP: usize = 500;
/// How long recording a delivery is retried in the process before the attempt gives up (and
/// its retry resends the unrecorded messages).
pub const RECORD_RETRY_FOR: Duration = Duration::from_secs(600);

/// Backers per page: `configured`, but no more than the mailer sends in half the heartbeat
/// timeout, so a page is done (and its cursor heartbeated) well within it.
pub fn page_size(configured: u64, mailer: &Mailer) -> u64 {
    let configured = configured.max(1);
    match mailer.send_interval() {
        Some(interval) if !interval.is_zero() => {
            let sends = (HEARTBEAT_TIMEOUT / 2).as_nanos() / interval.as_nanos();
            configured.min(u64::try_from(sends).unwrap_or(u64::MAX).max(1))
        }
        _ => configured,
    }
}

/// What the email step needs.
pub struct EmailStep<'a> {
    pub missions_db: &'a DatabaseConnection,
    pub users_db: &'a DatabaseConnection,
    pub mailer: &'a Mailer,
    pub page_size: u64,
    /// `PUBLIC_URL`: the base of a mission's page, which every email links.
    pub public_url: &'a str,
    /// `OPERATOR_CONTACT`: where a cancelled mission's emails say to ask.
    pub contact: &'a str,
}

impl EmailStep<'_> {
    /// Sends every backer's message and the streamer's summary that are not recorded yet,
    /// heartbeating throughout; resumes after the page in the last heartbeat.
    pub async fn run(
        &self,
        ctx: &ActivityContext,
        mission_id: &str,
    ) -> Result<EmailSummary, ActivityError> {
        let resumed: Option<String> = ctx.heartbeat_details().deserialize().ok().flatten();
        let cursor = std::sync::Mutex::new(resumed);
        with_heartbeats(ctx, &cursor, self.send_all(ctx, mission_id, &cursor)).await
    }

    /// Sends every backer who wants it `notice` of the mission, skipping whoever has it
    /// recorded; resumes after the page in the last heartbeat. Sends nothing once the mission
    /// left the status the notice is about (the backers hear the outcome instead).
    pub async fn notify(
        &self,
        ctx: &ActivityContext,
        mission_id: &str,
        notice: Notice,
    ) -> Result<EmailSummary, ActivityError> {
        let resumed: Option<String> = ctx.heartbeat_details().deserialize().ok().flatten();
        let cursor = std::sync::Mutex::new(resumed);
        let work = async {
            let m = mission::find(self.missions_db, mission_id)
                .await
                .map_err(retryable)?;
            let mut summary = EmailSummary::default();
            if MissionState::from(m.status) != notice.status() {
                return Ok(summary);
            }
            let facts = facts(self, &m).await?;
            self.backer_pages(ctx, &facts, Letter::Notice(notice), &cursor, &mut summary)
                .await?;
            Ok(summary)
        };
        with_heartbeats(ctx, &cursor, work).await
    }

    /// Every page of backers from the cursor on, as the transport needs it.
    async fn backer_pages(
        &self,
        ctx: &ActivityContext,
        facts: &MissionFacts,
        letter: Letter,
        cursor: &std::sync::Mutex<Option<String>>,
        summary: &mut EmailSummary,
    ) -> Result<(), ActivityError> {
        let after = lock(cursor).clone();
        let first = self.backer_page(facts, letter, after.as_deref()).await?;
        if self.mailer.resend_replaces() {
            self.pipelined(ctx, facts, letter, first, cursor, summary)
                .await
        } else {
            self.one_page_at_a_time(ctx, facts, letter, first, cursor, summary)
                .await
        }
    }

    async fn send_all(
        &self,
        ctx: &ActivityContext,
        mission_id: &str,
        cursor: &std::sync::Mutex<Option<String>>,
    ) -> Result<EmailSummary, ActivityError> {
        let m = mission::find(self.missions_db, mission_id)
            .await
            .map_err(retryable)?;
        let streamer = identity::recipient(self.users_db, &m.streamer_id)
            .await
            .map_err(retryable)?;
        let facts = facts(self, &m).await?;
        let mut summary = EmailSummary::default();
        self.backer_pages(ctx, &facts, Letter::Result, cursor, &mut summary)
            .await?;
        match streamer {
            Some(streamer) => {
                self.streamer_summary(ctx, &facts, &streamer, &mut summary)
                    .await?
            }
            None => {
                tracing::warn!(streamer = %m.streamer_id, "streamer has no user record; no summary")
            }
        }
        mission::mark_notified(self.missions_db, mission_id)
            .await
            .map_err(retryable)?;
        Ok(summary)
    }

    /// Every page, one at a time (a transport whose resend would be a second message): the
    /// next page is read from the databases while this one goes out and is recorded.
    async fn one_page_at_a_time(
        &self,
        ctx: &ActivityContext,
        facts: &MissionFacts,
        letter: Letter,
        mut loaded: Option<BackerPage>,
        cursor: &std::sync::Mutex<Option<String>>,
        summary: &mut EmailSummary,
    ) -> Result<(), ActivityError> {
        while let Some(page) = loaded {
            summary.already_sent += page.already_sent;
            let (outcome, next) = tokio::join!(
                self.send_and_record(ctx, page.outgoing),
                self.backer_page(facts, letter, Some(&page.last))
            );
            outcome?.add_to(summary)?;
            *lock(cursor) = Some(page.last);
            loaded = next?;
        }
        Ok(())
    }

    /// Every page, three at once (a transport whose resend replaces the first message, like
    /// files named after the message): page N goes out while page N-1 is recorded and page N+1
    /// is read. A crash can rewrite the two pages not yet recorded, which replaces their files
    /// and adds nothing; the cursor moves past a page once it is recorded.
    async fn pipelined(
        &self,
        ctx: &ActivityContext,
        facts: &MissionFacts,
        letter: Letter,
        mut loaded: Option<BackerPage>,
        cursor: &std::sync::Mutex<Option<String>>,
        summary: &mut EmailSummary,
    ) -> Result<(), ActivityError> {
        let mut unrecorded: Option<(Vec<email_delivery::ActiveModel>, String)> = None;
        while let Some(page) = loaded {
            summary.already_sent += page.already_sent;
            let (sent, recorded, next) = tokio::join!(
                self.send(ctx, page.outgoing),
                self.record_page(unrecorded.take()),
                self.backer_page(facts, letter, Some(&page.last))
            );
            if let Some(last) = recorded? {
                *lock(cursor) = Some(last);
            }
            let (outcome, mut records) = sent?;
            if outcome.retry.is_some() {
                // What went is recorded before the attempt ends; its retry sends the rest.
                self.record(&mut records).await?;
            }
            outcome.add_to(summary)?;
            unrecorded = Some((records, page.last));
            loaded = match next {
                Ok(next) => next,
                Err(e) => {
                    // What went is recorded before the attempt ends.
                    self.record_page(unrecorded.take()).await?;
                    return Err(e);
                }
            };
        }
        if let Some(last) = self.record_page(unrecorded).await? {
            *lock(cursor) = Some(last);
        }
        Ok(())
    }

    /// Records a page's deliveries; returns the page's last backer once they are recorded.
    async fn record_page(
        &self,
        page: Option<(Vec<email_delivery::ActiveModel>, String)>,
    ) -> Result<Option<String>, ActivityError> {
        let Some((records, last)) = page else {
            return Ok(None);
        };
        for group in records.chunks(RECORD_GROUP) {
            self.record(&mut group.to_vec()).await?;
        }
        Ok(Some(last))
    }

    async fn streamer_summary(
        &self,
        ctx: &ActivityContext,
        facts: &MissionFacts,
        streamer: &Recipient,
        summary: &mut EmailSummary,
    ) -> Result<(), ActivityError> {
        let recipient = Condition::all().add(email_delivery::Column::RecipientId.eq(&streamer.id));
        if !self
            .delivered(&facts.mission_id, "STREAMER", recipient)
            .await?
            .is_empty()
        {
            summary.already_sent += 1;
            return Ok(());
        }
        let out = mission::outflows(self.missions_db, &facts.mission_id)
            .await
            .map_err(retryable)?;
        // The backers still in: one who withdrew every pledge is not counted.
        let backers = mission::totals(self.missions_db, &facts.mission_id)
            .await
            .map_err(retryable)?
            .backers;
        // Back with the backers: refunds, and pledges withdrawn while it was pending.
        let (subject, text) = streamer_message(
            facts,
            streamer.locale,
            backers,
            out.paid_won,
            out.fee_won,
            out.refunded_won + out.withdrawn_won,
        );
        let outgoing = vec![message(facts, "STREAMER", streamer, subject, text)];
        self.send_and_record(ctx, outgoing).await?.add_to(summary)
    }

    /// The page of backers after `after`: their sums, minus those already emailed, composed in
    /// each one's locale. `None` once every backer is past.
    async fn backer_page(
        &self,
        facts: &MissionFacts,
        letter: Letter,
        after: Option<&str>,
    ) -> Result<Option<BackerPage>, ActivityError> {
        if let Letter::Notice(notice) = letter {
            // A notice stops once the mission moved on (a verdict, the window's end): "object
            // before X" must not reach anyone after X. The backers hear the outcome instead.
            let now = mission::find(self.missions_db, &facts.mission_id)
                .await
                .map_err(retryable)?;
            if MissionState::from(now.status) != notice.status() {
                return Ok(None);
            }
        }
        let page =
            mission::backers_page(self.missions_db, &facts.mission_id, after, self.page_size)
                .await
                .map_err(retryable)?;
        let Some(last) = page.last().map(|b| b.backer_id.clone()) else {
            return Ok(None);
        };
        // The page's ids are exactly those in (after, last]: a range scan of the primary key,
        // where a long IN list made the planner filter every delivery of the mission.
        let page_ids = Condition::all()
            .add(email_delivery::Column::RecipientId.gt(after.unwrap_or("")))
            .add(email_delivery::Column::RecipientId.lte(last.as_str()));
        // The page's users are read beside its deliveries (a few already emailed are read for
        // nothing; a retry's rare case), not after them.
        let ids: Vec<String> = page.iter().map(|b| b.backer_id.clone()).collect();
        let (done, users) = tokio::join!(
            self.delivered(&facts.mission_id, letter.role(), page_ids),
            identity::recipients(self.users_db, &ids)
        );
        let (done, users) = (done?, users.map_err(retryable)?);
        // A goal's tiered verdict refunded part of each pledge: its result email says how much.
        let refunds = match (letter, facts.tier_reached) {
            (Letter::Result, Some(_)) => mission::tiered::refunds_between(
                self.missions_db,
                &facts.mission_id,
                after.unwrap_or(""),
                &last,
            )
            .await
            .map_err(retryable)?,
            _ => Default::default(),
        };
        let mut outgoing = Vec::with_capacity(page.len());
        for b in &page {
            if done.contains(&b.backer_id) {
                continue;
            }
            let Some(u) = users.get(&b.backer_id) else {
                tracing::warn!(backer = %b.backer_id, "backer has no user record; no email");
                continue;
            };
            let refunded = refunds.get(&b.backer_id).copied().unwrap_or(0);
            let Some((subject, text)) = letter.compose(facts, u, b.total_won, refunded) else {
                continue;
            };
            outgoing.push(message(facts, letter.role(), u, subject, text));
        }
        Ok(Some(BackerPage {
            outgoing,
            already_sent: u64::try_from(done.len()).map_err(retryable)?,
            last,
        }))
    }

    /// Sends the messages and records each outcome as soon as it is known (see the module
    /// comment). Once the attempt is cancelled nothing more is sent; what was sent is recorded.
    async fn send_and_record(
        &self,
        ctx: &ActivityContext,
        outgoing: Vec<Outgoing>,
    ) -> Result<Outcome, ActivityError> {
        let (emails, mut records) = split(outgoing);
        let mut outcome = Outcome::default();
        let mut pending = Vec::new();
        let mut results = self.mailer.deliver(emails, || !ctx.is_cancelled());
        loop {
            // Take whatever has completed; before waiting for more, record what has.
            let next = match results.next().now_or_never() {
                Some(next) => next,
                None => {
                    self.record(&mut pending).await?;
                    results.next().await
                }
            };
            let Some((i, result)) = next else { break };
            let record = take_record(&mut records, i)?;
            let Some(record) = outcome.add(record, result) else {
                continue;
            };
            pending.push(record);
            if pending.len() >= RECORD_GROUP {
                self.record(&mut pending).await?;
            }
        }
        self.record(&mut pending).await?;
        Ok(outcome)
    }

    /// Sends the messages and answers what happened with the delivery rows to record (sent,
    /// or failed for good); nothing is recorded here. Once the attempt is cancelled nothing
    /// more is sent.
    async fn send(
        &self,
        ctx: &ActivityContext,
        outgoing: Vec<Outgoing>,
    ) -> Result<(Outcome, Vec<email_delivery::ActiveModel>), ActivityError> {
        let (emails, mut records) = split(outgoing);
        let mut outcome = Outcome::default();
        let mut done = Vec::with_capacity(records.len());
        let mut results = self.mailer.deliver(emails, || !ctx.is_cancelled());
        while let Some((i, result)) = results.next().await {
            let record = take_record(&mut records, i)?;
            if let Some(record) = outcome.add(record, result) {
                done.push(record);
            }
        }
        Ok((outcome, done))
    }

    /// Records `pending` deliveries, retrying in the process for up to [`RECORD_RETRY_FOR`].
    async fn record(
        &self,
        pending: &mut Vec<email_delivery::ActiveModel>,
    ) -> Result<(), ActivityError> {
        if pending.is_empty() {
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let written = email_delivery::Entity::insert_many(pending.clone())
                .on_conflict_do_nothing()
                .exec_without_returning(self.missions_db)
                .await;
            match written {
                Ok(_) => {
                    pending.clear();
                    return Ok(());
                }
                Err(e) if started.elapsed() < RECORD_RETRY_FOR => {
                    tracing::warn!(error = %e, deliveries = pending.len(), "recording deliveries failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(retryable(format!("recording deliveries: {e}"))),
            }
        }
    }

    /// Recipients of the mission in `role` whose delivery is recorded (sent or failed for good),
    /// among those `recipients` selects.
    async fn delivered(
        &self,
        mission_id: &str,
        role: &str,
        recipients: Condition,
    ) -> Result<HashSet<String>, ActivityError> {
        Ok(email_delivery::Entity::find()
            .filter(email_delivery::Column::MissionId.eq(mission_id))
            .filter(recipients)
            .filter(email_delivery::Column::Role.eq(role))
            .all(self.missions_db)
            .await
            .map_err(retryable)?
            .into_iter()
            .map(|d| d.recipient_id)
            .collect())
    }
}

/// Runs `work`, heartbeating the cursor every [`HEARTBEAT_EVERY`] until it is done.
async fn with_heartbeats<T>(
    ctx: &ActivityContext,
    cursor: &std::sync::Mutex<Option<String>>,
    work: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(work);
    let mut beat = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = beat.tick() => {
                let at = lock(cursor).clone();
                if let Err(e) = ctx.record_heartbeat(at).await {
                    tracing::warn!(error = %e, "heartbeat not recorded");
                }
            }
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One page of backers' messages, ready to go.
struct BackerPage {
    outgoing: Vec<Outgoing>,
    already_sent: u64,
    /// The page's last backer: the next page starts after it.
    last: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ses_page_is_what_the_rate_sends_in_half_the_heartbeat_timeout() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let ses = |rate| Mailer::ses_with(&config, "MissionLink <a@b.io>", rate);
        // 14 a second (SES's default quota) for 15 s.
        assert_eq!(page_size(500, &ses(14)), 210);
        assert_eq!(page_size(500, &ses(1_000)), 500);
        assert_eq!(page_size(500, &ses(100_000)), 500);
        assert_eq!(page_size(500, &Mailer::file("outbox", "a@b.io")), 500);
    }
}
