//! Proving an address (issue 25): the code sent at registration, again on request, and to a new
//! address before it replaces the old one (which is then told). A code proves the address it was
//! sent to; using it marks the account's address proven (`users.email_verified_at`) or, for a
//! new address, makes it the account's address, proven. Each code works once, and using one voids the account's
//! other address codes.
//!
//! Guessing codes is bounded like guessing passwords: a code that opens nothing counts as a
//! failed login from the client's address (`LOGIN_MAX_FAILURES_PER_ADDRESS` per window).

use crate::account_mail;
use crate::accounts::Accounts;
use crate::codes;
use crate::error::{IdentityError, IdentityResult};
use crate::input::Email;
use crate::password;
use chrono::Utc;
use missionlink_entities::users::{AccountEmailKind, CodePurpose, account_code, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use std::net::IpAddr;

/// Limits on account emails asked for, over a fixed window (`ACCOUNT_EMAILS_WINDOW_SECONDS`):
/// per address they go to from one client address (`ACCOUNT_EMAILS_MAX_PER_EMAIL`), per client
/// address (`ACCOUNT_EMAILS_MAX_PER_ADDRESS`) and per address they go to from every client
/// (`ACCOUNT_EMAILS_MAX_PER_EMAIL_TOTAL`): verification emails asked again, changes of address,
/// and password resets.
#[derive(Clone, Debug)]
pub struct AccountEmailThrottle {
    pub max_per_email: i64,
    pub max_per_email_total: i64,
    pub max_per_address: i64,
    pub window_seconds: i64,
}

/// The code refused: malformed, unknown, used, or made void (one answer for all).
pub(crate) fn code_invalid() -> IdentityError {
    IdentityError::Refused {
        code: "CODE_INVALID",
        message: "this code is not valid: it may be mistyped, used already, or replaced by a \
                  newer one"
            .into(),
    }
}

impl Accounts {
    /// Sends the caller's verification email again. `INVALID_STATE` if the address is proven.
    pub async fn resend_verification(&self, user_id: &str, client: IpAddr) -> IdentityResult<()> {
        let user = self.user(user_id).await?;
        if user.email_verified_at.is_some() {
            return Err(IdentityError::InvalidState(
                "this address is already verified".into(),
            ));
        }
        self.count_account_email(&user.email, client).await?;
        account_mail::enqueue(
            &self.users_db,
            AccountEmailKind::VerifyEmail,
            Some(user_id),
            &user.email,
        )
        .await
    }

    /// Asks to move the account to `new_email`, proven by the current password: a code goes to
    /// the new address and the account keeps its old one until the code is used. A wrong
    /// password counts as a failed login and changes nothing; an address in use (this account's
    /// or another's) is `BAD_USER_INPUT`.
    pub async fn change_email(
        &self,
        user_id: &str,
        new_email: &str,
        current_password: &str,
        client: IpAddr,
    ) -> IdentityResult<user::Model> {
        let email = Email::parse(new_email)?;
        let user = self.user(user_id).await?;
        let counted = self.count_failure(&user.email, client).await?;
        let ok = password::verify(
            current_password.to_owned(),
            Some(user.password_hash.clone()),
        )
        .await?;
        if !ok {
            return Err(IdentityError::Unauthenticated(
                "the current password is not right".into(),
            ));
        }
        self.give_back(&counted).await?;
        if email.as_str() == user.email {
            return Err(IdentityError::invalid(
                "email",
                "this is already the account's address",
            ));
        }
        // Counted before the address is looked up, so whether it is registered cannot be asked
        // faster than the account email limits.
        self.count_account_email(email.as_str(), client).await?;
        if crate::users::by_email(&self.users_db, email.as_str())
            .await?
            .is_some()
        {
            return Err(IdentityError::invalid(
                "email",
                "this email is already registered",
            ));
        }
        account_mail::enqueue(
            &self.users_db,
            AccountEmailKind::ChangeEmail,
            Some(user_id),
            email.as_str(),
        )
        .await?;
        Ok(user)
    }

    /// Uses an address code: the address it was sent to becomes the account's, proven. A code
    /// for a new address works only for `signed_in`, the account's own session: whoever reads a
    /// mistyped new address's mailbox cannot take the account with it. Refused (`CODE_INVALID`,
    /// `CODE_EXPIRED`, `UNAUTHENTICATED` for a new address's code outside the account's session,
    /// or `BAD_USER_INPUT` when another account took the new address meanwhile), it changes
    /// nothing.
    pub async fn verify_email(
        &self,
        raw: &str,
        signed_in: Option<&str>,
        client: IpAddr,
    ) -> IdentityResult<()> {
        let code = self
            .find_code(raw, CodePurpose::VerifyEmail, client)
            .await?;
        let now = Utc::now();
        let txn = self.users_db.begin().await?;
        crate::sessions::lock_user(&txn, &code.user_id).await?;
        let before = user::Entity::find_by_id(code.user_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(code_invalid)?;
        if before.email != code.email && signed_in != Some(code.user_id.as_str()) {
            return Err(IdentityError::Unauthenticated(
                "a code for a new address is entered in the app, signed in to the account that \
                 asked for it"
                    .into(),
            ));
        }
        use_code(&txn, &code).await?;
        let moved = user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(code.email.clone()))
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
            .filter(user::Column::Id.eq(&code.user_id))
            .exec(&txn)
            .await;
        if let Err(e) = &moved
            && let Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) = e.sql_err()
        {
            return Err(IdentityError::invalid(
                "code",
                "this email was registered by another account meanwhile",
            ));
        }
        moved?;
        if before.email != code.email {
            // The address left is told where the account went, in the same transaction.
            account_mail::enqueue(
                &txn,
                AccountEmailKind::AddressChanged,
                Some(&code.user_id),
                &before.email,
            )
            .await?;
        }
        txn.commit().await?;
        self.active_users.forget(&code.user_id).await;
        Ok(())
    }

    /// The unused code `raw` of `purpose`: malformed, unknown or used is `CODE_INVALID`, past
    /// its end `CODE_EXPIRED`. Each refusal counts as a failed login from `client`, and past the
    /// limit the attempt is `RATE_LIMITED` before any lookup.
    pub(crate) async fn find_code(
        &self,
        raw: &str,
        purpose: CodePurpose,
        client: IpAddr,
    ) -> IdentityResult<account_code::Model> {
        let counted = self.count_failure_from(client).await?;
        let Some(normalized) = codes::normalize(raw, purpose) else {
            return Err(code_invalid());
        };
        let found = account_code::Entity::find()
            .filter(account_code::Column::CodeHash.eq(codes::hash(&normalized)))
            .filter(account_code::Column::Purpose.eq(purpose))
            .one(&self.users_db)
            .await?;
        let code = match found {
            Some(code) if code.used_at.is_none() => code,
            _ => return Err(code_invalid()),
        };
        self.give_back(&counted).await?;
        if code.expires_at <= Utc::now() {
            return Err(IdentityError::Refused {
                code: "CODE_EXPIRED",
                message: "this code has expired: ask for a new one".into(),
            });
        }
        Ok(code)
    }

    /// Counts one account email asked for `email` from `client`; past either limit,
    /// `RATE_LIMITED` with nothing counted. The answer does not depend on whether an account has
    /// the address.
    pub(crate) async fn count_account_email(
        &self,
        email: &str,
        client: IpAddr,
    ) -> IdentityResult<()> {
        let limit = &self.account_email_throttle;
        // As failed logins: a stranger asking for someone's emails uses up only their own
        // address's allowance; the much higher ceiling per address asked for bounds what many
        // client addresses together can send one mailbox.
        let buckets = [
            (format!("mail-to:{email}|{client}"), limit.max_per_email),
            (format!("mail-from:{client}"), limit.max_per_address),
            (format!("mail-to:{email}"), limit.max_per_email_total),
        ];
        let mut counted = Vec::new();
        for (bucket, max) in &buckets {
            match crate::throttle::acquire(&self.users_db, bucket, *max, limit.window_seconds)
                .await?
            {
                Some(attempt) => counted.push(attempt),
                None => {
                    self.give_back(&counted).await?;
                    return Err(IdentityError::RateLimited(
                        "too many account emails asked for; try again later".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Marks `code` used, and every other unused code of its purpose for its user void, inside the
/// caller's transaction (after the user's row is taken). `CODE_INVALID` if another request used
/// it first.
pub(crate) async fn use_code<C: ConnectionTrait>(
    txn: &C,
    code: &account_code::Model,
) -> IdentityResult<()> {
    let now = Utc::now();
    let used = account_code::Entity::update_many()
        .col_expr(account_code::Column::UsedAt, Expr::value(now))
        .filter(account_code::Column::Id.eq(&code.id))
        .filter(account_code::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(code_invalid());
    }
    account_code::Entity::update_many()
        .col_expr(account_code::Column::UsedAt, Expr::value(now))
        .filter(account_code::Column::UserId.eq(&code.user_id))
        .filter(account_code::Column::Purpose.eq(code.purpose))
        .filter(account_code::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}
