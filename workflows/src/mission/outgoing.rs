//! What the email step sends and records: which letter a backer gets, a message with its
//! delivery row, and what sending a group of them did.

use super::delivery::EmailStep;
use crate::email::{
    Email, MissionFacts, SendError, accepted_message, backer_message, verifying_message,
};
use crate::failure::{non_retryable, retryable};
use crate::mission::payload::{EmailSummary, Notice};
use missionlink_entities::missions::email_delivery;
use missionlink_identity::users::Recipient;
use missionlink_ledger::status::DeliveryStatus;
use missionlink_ledger::status::MissionStatus;
use temporalio_sdk::activities::ActivityError;

/// Which email a step sends each backer.
#[derive(Clone, Copy, Debug)]
pub(super) enum Letter {
    /// What became of their pledges (never optional).
    Result,
    /// A notice while the mission runs, to those who want it.
    Notice(Notice),
}

impl Letter {
    /// The deliveries' `role`: one delivery per backer, mission and role.
    pub(super) fn role(self) -> &'static str {
        match self {
            Letter::Result => "BACKER",
            Letter::Notice(n) => n.role(),
        }
    }

    /// The subject and text to `to`, who had `total_won` in the mission (`refunded_won` of it
    /// back by a goal's tiered verdict); `None` when they do not want this notice.
    pub(super) fn compose(
        self,
        facts: &MissionFacts,
        to: &Recipient,
        total_won: i64,
        refunded_won: i64,
    ) -> Option<(String, String)> {
        match self {
            Letter::Result => Some(backer_message(
                facts,
                to.locale,
                &to.display_name,
                total_won,
                refunded_won,
            )),
            Letter::Notice(Notice::Accepted) => to
                .notify_accepted
                .then(|| accepted_message(facts, to.locale, &to.display_name)),
            Letter::Notice(Notice::Verifying) => to
                .notify_verifying
                .then(|| verifying_message(facts, to.locale, &to.display_name)),
        }
    }
}

/// A message and the delivery row that records it.
pub(super) struct Outgoing {
    pub(super) email: Email,
    pub(super) record: email_delivery::ActiveModel,
}

/// What sending a group of messages did.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) sent: u64,
    pub(super) failed: u64,
    /// The first failure that a later attempt may get past.
    pub(super) retry: Option<anyhow::Error>,
}

/// The messages to hand the mailer, and their delivery rows by the same index (each taken
/// once, with [`take_record`], when its message's outcome is known).
pub(super) fn split(
    outgoing: Vec<Outgoing>,
) -> (Vec<Email>, Vec<Option<email_delivery::ActiveModel>>) {
    outgoing
        .into_iter()
        .map(|o| (o.email, Some(o.record)))
        .unzip()
}

/// The delivery row of the message at `i`, taken once.
pub(super) fn take_record(
    records: &mut [Option<email_delivery::ActiveModel>],
    i: usize,
) -> Result<email_delivery::ActiveModel, ActivityError> {
    records.get_mut(i).and_then(Option::take).ok_or_else(|| {
        non_retryable(
            "SendMissionEmails",
            "Bug",
            "the mailer answered for a message it was not given",
        )
    })
}

impl Outcome {
    /// Counts one message's result; answers its delivery row to record (sent, or failed for
    /// good), or `None` when a later attempt is to send it.
    pub(super) fn add(
        &mut self,
        mut record: email_delivery::ActiveModel,
        result: Result<(), SendError>,
    ) -> Option<email_delivery::ActiveModel> {
        match result {
            Ok(()) => self.sent += 1,
            Err(SendError::Rejected(why)) => {
                tracing::warn!(reason = %why, "recipient refused for good; recorded as failed");
                record.status = sea_orm::Set(DeliveryStatus::Failed);
                record.error = sea_orm::Set(Some(why));
                self.failed += 1;
            }
            Err(SendError::Transient(e)) => {
                tracing::warn!(error = %format!("{e:#}"), "email not sent; a retry will send it");
                self.retry = self.retry.take().or(Some(e));
                return None;
            }
            Err(SendError::Cancelled) => {
                self.retry = self
                    .retry
                    .take()
                    .or_else(|| Some(anyhow::anyhow!("the attempt was cancelled")));
                return None;
            }
        }
        Some(record)
    }

    /// Adds the counts to `summary`, or fails the attempt (retryable) if a message is left.
    pub(super) fn add_to(self, summary: &mut EmailSummary) -> Result<(), ActivityError> {
        if let Some(e) = self.retry {
            return Err(retryable(format!("{e:#}")));
        }
        summary.sent += self.sent;
        summary.failed += self.failed;
        Ok(())
    }
}

/// A message about the mission of `facts` to `to`, and the delivery record to store once it
/// went.
pub(super) fn message(
    facts: &MissionFacts,
    role: &str,
    to: &Recipient,
    subject: String,
    text: String,
) -> Outgoing {
    let mission_id = &facts.mission_id;
    let email = Email {
        key: format!("{mission_id}-{}-{}", role.to_ascii_lowercase(), to.id),
        to: to.email.clone(),
        subject: subject.clone(),
        text,
        links: facts.links(to.locale),
    };
    let record = email_delivery::ActiveModel {
        mission_id: sea_orm::Set(mission_id.to_owned()),
        recipient_id: sea_orm::Set(to.id.clone()),
        role: sea_orm::Set(role.to_owned()),
        address: sea_orm::Set(to.email.clone()),
        subject: sea_orm::Set(subject),
        sent_at: sea_orm::Set(chrono::Utc::now()),
        status: sea_orm::Set(DeliveryStatus::Sent),
        error: sea_orm::Set(None),
    };
    Outgoing { email, record }
}

/// What the mission's emails say of it: the streamer as backers know them, its page, when it
/// ended, and for an operator's cancellation their note and where to ask.
pub(super) async fn facts(
    step: &EmailStep<'_>,
    m: &missionlink_entities::missions::mission::Model,
) -> Result<MissionFacts, ActivityError> {
    // The streamer as backers know them: their name and their verified channel.
    let shown = missionlink_identity::streamers::shown_name_of(step.users_db, &m.streamer_id)
        .await
        .map_err(retryable)?;
    let cancel_reason = if m.status == MissionStatus::Cancelled {
        missionlink_ledger::operator::cancel_reason(step.missions_db, &m.id)
            .await
            .map_err(retryable)?
    } else {
        None
    };
    Ok(MissionFacts {
        mission_id: m.id.clone(),
        title: m.title.clone(),
        streamer_name: shown.unwrap_or_else(|| "?".to_owned()),
        status: m.status,
        evidence_url: m.evidence_url.clone(),
        verdict_note: m.verdict_note.clone(),
        deadline: m.deadline,
        objection_until: m.objection_until,
        goal: m.kind == missionlink_ledger::status::MissionKind::Goal,
        tier_reached: m.tier_reached,
        page: format!("{}/missions/{}", step.public_url, m.id),
        ended_at: m.closed_at.or(m.settled_at),
        cancel_reason,
        contact: step.contact.to_owned(),
    })
}
