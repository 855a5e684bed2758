//! The worker sends the account emails (issue 25): every [`INTERVAL`] it claims due rows of the
//! users database's `account_emails` outbox (written by `register`, `resendVerificationEmail`,
//! `changeEmail`, `requestPasswordReset`, and a change of address taking effect), makes each
//! one's code, sends it through the
//! worker's mailer (the `.eml` files or SES v2, at its rate), and records the outcome. A plain
//! loop like the top-up receipts: one message per request, nothing to wait for between steps.

use crate::email::{Email, Mailer, SendError, account_email, address_changed_notice};
use chrono::Utc;
use missionlink_identity::account_mail::{
    self, AccountEmail, AccountEmailStatus, CodeLifetimes, Prepared,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for account emails to send.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Most emails claimed per round.
pub const BATCH: u64 = 50;
/// How long a claim keeps other workers off an email: longer than one send can take.
pub const LEASE_SECONDS: i64 = 300;

/// What the account emails need beside the database and the mailer.
#[derive(Clone, Debug)]
pub struct AccountEmailSettings {
    /// `PUBLIC_URL` (in dev, when unset, the API's own address): the base of the emails' links.
    pub public_url: String,
    /// `EMAIL_VERIFICATION_TTL_SECONDS`, `PASSWORD_RESET_TTL_SECONDS`.
    pub lifetimes: CodeLifetimes,
    /// `OPERATOR_CONTACT`: whom the notice of a change of address says to tell.
    pub operator_contact: String,
}

/// What the loop needs.
#[derive(Clone)]
pub struct AccountEmails {
    pub users_db: DatabaseConnection,
    pub mailer: Arc<Mailer>,
    pub settings: AccountEmailSettings,
}

/// How often the loop deletes what is past `account_mail::RETENTION_DAYS`.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3_600);

/// The loop sending due account emails every [`INTERVAL`], and pruning every [`PRUNE_EVERY`].
pub fn worker_loop(deps: AccountEmails) -> crate::periodic::Loop {
    let deps = Arc::new(deps);
    let pruned_at = Arc::new(std::sync::Mutex::new(None::<tokio::time::Instant>));
    crate::periodic::Loop::new("account emails", INTERVAL, move || {
        let (deps, pruned_at) = (deps.clone(), pruned_at.clone());
        async move {
            round(&deps)
                .await
                .map_err(|e| e.context("account emails: round failed"))?;
            let due = {
                let mut last = pruned_at.lock().unwrap_or_else(|e| e.into_inner());
                let due = last.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
                if due {
                    *last = Some(tokio::time::Instant::now());
                }
                due
            };
            if due {
                account_mail::prune(&deps.users_db, Utc::now())
                    .await
                    .map_err(|e| anyhow::anyhow!("account emails: pruning failed: {e:?}"))?;
            }
            Ok(())
        }
    })
}

/// One round: claims and sends at most [`BATCH`] emails; the number sent.
pub async fn round(deps: &AccountEmails) -> anyhow::Result<usize> {
    let claimed = account_mail::claim_due(
        &deps.users_db,
        Utc::now(),
        chrono::Duration::seconds(LEASE_SECONDS),
        BATCH,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut sent = 0;
    for row in claimed {
        let span = tracing::info_span!("account_email.send", kind = row.kind.as_str());
        match tracing::Instrument::instrument(send(deps, &row), span).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            // Left claimed: the lease lapses and a later round tries again, with a new code.
            Err(e) => tracing::warn!(email = %row.id, error = format!("{e:#}"),
                "account email not sent"),
        }
    }
    Ok(sent)
}

async fn send(deps: &AccountEmails, row: &AccountEmail) -> anyhow::Result<bool> {
    let db = &deps.users_db;
    let fail = |e| anyhow::anyhow!("{e:?}");
    if row.attempts > account_mail::MAX_ATTEMPTS {
        // Tried at every lease for as many leases: the user asks again (a new row).
        let why = format!("not sent after {} attempts", account_mail::MAX_ATTEMPTS);
        account_mail::finish(db, &row.id, AccountEmailStatus::Failed, Some(why))
            .await
            .map_err(fail)?;
        return Ok(false);
    }
    let (to, links, (subject, text)) =
        match account_mail::prepare(db, row, &deps.settings.lifetimes)
            .await
            .map_err(fail)?
        {
            Prepared::Skip(why) => {
                account_mail::finish(db, &row.id, AccountEmailStatus::Skipped, Some(why.into()))
                    .await
                    .map_err(fail)?;
                return Ok(false);
            }
            Prepared::Send(letter) => {
                let link = letter.link(&deps.settings.public_url);
                (
                    letter.to.clone(),
                    link.iter().cloned().collect(),
                    account_email(&letter, link.as_deref()),
                )
            }
            Prepared::Notice(notice) => (
                notice.to.clone(),
                Vec::new(),
                address_changed_notice(&notice, &deps.settings.operator_contact),
            ),
        };
    let email = Email {
        key: format!("account-{}", row.id),
        to,
        subject,
        text,
        links,
    };
    let (status, error) = match deps.mailer.send(&email).await {
        Ok(()) => (AccountEmailStatus::Sent, None),
        Err(SendError::Rejected(why)) => (AccountEmailStatus::Failed, Some(why)),
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    account_mail::finish(db, &row.id, status, error)
        .await
        .map_err(fail)?;
    Ok(status == AccountEmailStatus::Sent)
}
