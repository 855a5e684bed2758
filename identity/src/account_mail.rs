//! The outbox of account emails (`account_emails`): a request that asks for a verification or a
//! reset email writes a row ([`enqueue`]), as does a change of address (a notice to the old
//! address); the worker claims due rows for a lease
//! ([`claim_due`]), makes each one's code as it sends it ([`prepare`]), and records the outcome
//! ([`finish`]). The code is made at send time so that it is never stored readable: only its
//! hash is (`account_codes`). A worker that dies mid-send leaves its claim to lapse and another
//! sends a fresh code; both codes work until one of them is used.

use crate::codes;
use crate::error::IdentityResult;
use chrono::{DateTime, Duration, Utc};
use missionlink_entities::users::{
    AccountEmailKind, CodePurpose, Locale, account_code, account_email, user,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};

pub use missionlink_entities::users::AccountEmailStatus;
/// One row of the outbox, as the worker reads it.
pub use missionlink_entities::users::account_email::Model as AccountEmail;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// The path, under `PUBLIC_URL`, of the page a verification email's link opens (served by the
/// API), followed by `?code=…&lang=…`.
pub const VERIFY_PATH: &str = "/account/verify-email";
/// The same for a reset email.
pub const RESET_PATH: &str = "/account/reset-password";

/// How long each kind of code lives (`EMAIL_VERIFICATION_TTL_SECONDS`,
/// `PASSWORD_RESET_TTL_SECONDS`).
#[derive(Clone, Copy, Debug)]
pub struct CodeLifetimes {
    pub verify_email: Duration,
    pub reset_password: Duration,
}

impl CodeLifetimes {
    fn of(&self, purpose: CodePurpose) -> Duration {
        match purpose {
            CodePurpose::VerifyEmail => self.verify_email,
            CodePurpose::ResetPassword => self.reset_password,
        }
    }
}

/// Asks for an email of `kind` to `email` (for `user_id`, known except for a reset).
pub(crate) async fn enqueue<C: ConnectionTrait>(
    db: &C,
    kind: AccountEmailKind,
    user_id: Option<&str>,
    email: &str,
) -> IdentityResult<()> {
    account_email::Entity::insert(account_email::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        kind: Set(kind),
        user_id: Set(user_id.map(str::to_owned)),
        email: Set(email.to_owned()),
        created_at: Set(Utc::now()),
        claimed_until: Set(None),
        attempts: Set(0),
        status: Set(AccountEmailStatus::Pending),
        sent_at: Set(None),
        error: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(account_email::Column::ClaimedUntil.is_null())
        .add(account_email::Column::ClaimedUntil.lt(now))
}

/// Most claims of one email: one that could not go after this many tries (a provider down for
/// longer than `MAX_ATTEMPTS` leases) is given up, `FAILED`, and the user asks again.
pub const MAX_ATTEMPTS: i32 = 5;

/// How long sent, skipped and failed emails, and used or expired codes, are kept before
/// [`prune`] deletes them (the outbox keeps addresses strangers asked a reset for).
pub const RETENTION_DAYS: i64 = 30;

/// Claims at most `limit` pending emails until `now + lease`, oldest first, counting the attempt:
/// each one returned is this caller's to send until then. Its `attempts` includes this claim.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> IdentityResult<Vec<account_email::Model>> {
    let due = account_email::Entity::find()
        .filter(account_email::Column::Status.eq(AccountEmailStatus::Pending))
        .filter(unclaimed(now))
        .order_by_asc(account_email::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    let until = now.checked_add_signed(lease).unwrap_or(now);
    let mut claimed = Vec::with_capacity(due.len());
    for row in due {
        // A conditional update: of two workers, one matches the row.
        let won = account_email::Entity::update_many()
            .col_expr(account_email::Column::ClaimedUntil, Expr::value(until))
            .col_expr(
                account_email::Column::Attempts,
                Expr::col(account_email::Column::Attempts).add(1),
            )
            .filter(account_email::Column::Id.eq(&row.id))
            .filter(account_email::Column::Status.eq(AccountEmailStatus::Pending))
            .filter(unclaimed(now))
            .exec(db)
            .await?
            .rows_affected;
        if won == 1 {
            claimed.push(account_email::Model {
                attempts: row.attempts.saturating_add(1),
                ..row
            });
        }
    }
    Ok(claimed)
}

/// Deletes what is older than [`RETENTION_DAYS`]: finished emails, and codes used or expired.
/// Pending emails are never deleted.
pub async fn prune<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> IdentityResult<u64> {
    let before = now - Duration::days(RETENTION_DAYS);
    let emails = account_email::Entity::delete_many()
        .filter(account_email::Column::Status.ne(AccountEmailStatus::Pending))
        .filter(account_email::Column::CreatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected;
    let codes = account_code::Entity::delete_many()
        .filter(
            Condition::any()
                .add(account_code::Column::UsedAt.lt(before))
                .add(account_code::Column::ExpiresAt.lt(before)),
        )
        .exec(db)
        .await?
        .rows_affected;
    Ok(emails + codes)
}

/// What one claimed email becomes.
#[derive(Debug)]
pub enum Prepared {
    /// Nothing to send, and why (no account has the address; the address is already proven).
    Skip(&'static str),
    /// Send this code.
    Send(Letter),
    /// Tell the address an account left where it went.
    Notice(AddressChanged),
}

/// The notice to the address an account moved away from.
#[derive(Clone, Debug)]
pub struct AddressChanged {
    /// The old address.
    pub to: String,
    /// The account's address now.
    pub new_address: String,
    pub locale: Locale,
    /// When the request asking for it was made (the change).
    pub at: DateTime<Utc>,
}

/// One account email, ready to be worded.
#[derive(Clone, Debug)]
pub struct Letter {
    pub kind: CodePurpose,
    pub to: String,
    pub locale: Locale,
    /// The code, as the email shows it.
    pub code: String,
    pub expires_at: DateTime<Utc>,
    /// A proof of a new address, not of the account's current one: used only from a signed-in
    /// session of the account, so the email carries no link.
    pub change_of_address: bool,
}

impl Letter {
    /// The link that opens the page for this code, under `public_url`; `None` for a new
    /// address's code, which is entered in the app.
    pub fn link(&self, public_url: &str) -> Option<String> {
        let path = match (self.kind, self.change_of_address) {
            (_, true) => return None,
            (CodePurpose::VerifyEmail, false) => VERIFY_PATH,
            (CodePurpose::ResetPassword, false) => RESET_PATH,
        };
        Some(format!(
            "{}{path}?code={}&lang={}",
            public_url.trim_end_matches('/'),
            self.code,
            self.locale.as_str()
        ))
    }
}

/// Makes the code `row` carries, unless there is nothing to send: a reset for an address no
/// account has, or a proof of an address the account has proven meanwhile or no longer uses. A
/// notice of a change of address carries no code.
pub async fn prepare<C: ConnectionTrait>(
    db: &C,
    row: &account_email::Model,
    lifetimes: &CodeLifetimes,
) -> IdentityResult<Prepared> {
    let found = match &row.user_id {
        Some(id) => user::Entity::find_by_id(id.clone()).one(db).await?,
        None => {
            user::Entity::find()
                .filter(user::Column::Email.eq(&row.email))
                .one(db)
                .await?
        }
    };
    let Some(user) = found else {
        return Ok(Prepared::Skip("no account has this address"));
    };
    let Some(purpose) = row.kind.code() else {
        return Ok(Prepared::Notice(AddressChanged {
            to: row.email.clone(),
            new_address: user.email,
            locale: user.locale,
            at: row.created_at,
        }));
    };
    let change_of_address = row.kind == AccountEmailKind::ChangeEmail;
    let current = row.email == user.email;
    match row.kind {
        AccountEmailKind::ChangeEmail if current => {
            return Ok(Prepared::Skip("the account already uses this address"));
        }
        AccountEmailKind::VerifyEmail | AccountEmailKind::ResetPassword if !current => {
            return Ok(Prepared::Skip("the account no longer uses this address"));
        }
        AccountEmailKind::VerifyEmail if user.email_verified_at.is_some() => {
            return Ok(Prepared::Skip("the address is already proven"));
        }
        _ => {}
    }
    let code = codes::generate(purpose);
    let normalized = codes::normalize(&code, purpose).unwrap_or_default();
    let now = Utc::now();
    let expires_at = now + lifetimes.of(purpose);
    account_code::Entity::insert(account_code::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user.id.clone()),
        purpose: Set(purpose),
        code_hash: Set(codes::hash(&normalized)),
        email: Set(row.email.clone()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(Prepared::Send(Letter {
        kind: purpose,
        to: row.email.clone(),
        locale: user.locale,
        code,
        expires_at,
        change_of_address,
    }))
}

/// Records how the email `id` ended: `Sent`, `Failed` (the address refused for good) or
/// `Skipped`, with why.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    id: &str,
    status: AccountEmailStatus,
    error: Option<String>,
) -> IdentityResult<()> {
    account_email::Entity::update_many()
        .col_expr(account_email::Column::Status, Expr::value(status))
        .col_expr(account_email::Column::SentAt, Expr::value(Utc::now()))
        .col_expr(account_email::Column::Error, Expr::value(error))
        .filter(account_email::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
