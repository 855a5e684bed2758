//! Password reset (issue 25): asked for by address, answered the same whether or not an account
//! has it, and done with the single-use code the email carries.
//!
//! The request writes one outbox row whatever the address (the worker looks it up and sends
//! nothing to an address no account has), so its answer and its work are the same either way:
//! nothing tells a stranger whether an address is registered. Requests are limited per address
//! asked for and per client address (`ACCOUNT_EMAILS_*`), both counted before anything else.

use crate::account_mail;
use crate::accounts::Accounts;
use crate::error::IdentityResult;
use crate::input::{Email, Password};
use crate::password;
use crate::verification::{code_invalid, use_code};
use chrono::Utc;
use missionlink_entities::users::{AccountEmailKind, CodePurpose, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use std::net::IpAddr;

impl Accounts {
    /// Asks for a reset email to `raw_email`. A malformed address is `BAD_USER_INPUT` (no
    /// account can have it); past the limits `RATE_LIMITED`; otherwise done, account or not.
    pub async fn request_password_reset(
        &self,
        raw_email: &str,
        client: IpAddr,
    ) -> IdentityResult<()> {
        let email = Email::parse(raw_email)?;
        self.count_account_email(email.as_str(), client).await?;
        account_mail::enqueue(
            &self.users_db,
            AccountEmailKind::ResetPassword,
            None,
            email.as_str(),
        )
        .await
    }

    /// Sets a new password with a reset code and ends every session of the account: every
    /// refresh token revoked and every access token refused, as `logoutEverywhere`. The code
    /// proved the address too, so it is marked proven. A new password outside the rules is
    /// `BAD_USER_INPUT` and leaves the code usable; a used, unknown or replaced code is
    /// `CODE_INVALID`, an old one `CODE_EXPIRED`; a code sent to an address the account has
    /// since left is `CODE_INVALID`.
    pub async fn reset_password(
        &self,
        raw_code: &str,
        new_password: &str,
        client: IpAddr,
    ) -> IdentityResult<()> {
        let new = Password::parse(new_password)?;
        let code = self
            .find_code(raw_code, CodePurpose::ResetPassword, client)
            .await?;
        let hash = password::hash(new.expose().to_owned()).await?;
        let txn = self.users_db.begin().await?;
        crate::sessions::lock_user(&txn, &code.user_id).await?;
        let user = user::Entity::find_by_id(code.user_id.clone())
            .one(&txn)
            .await?
            .filter(|u| u.email == code.email)
            .ok_or_else(code_invalid)?;
        use_code(&txn, &code).await?;
        crate::sessions::end_sessions(&txn, &user.id, Some(hash)).await?;
        if user.email_verified_at.is_none() {
            user::Entity::update_many()
                .col_expr(user::Column::EmailVerifiedAt, Expr::value(Utc::now()))
                .filter(user::Column::Id.eq(&user.id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        self.active_users.forget(&user.id).await;
        Ok(())
    }
}
