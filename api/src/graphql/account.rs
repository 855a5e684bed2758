//! Proving an address and recovering an account (issue 25): `verifyEmail`,
//! `resendVerificationEmail`, `changeEmail`, `requestPasswordReset` and `resetPassword`. The
//! emails are sent by the worker (`account_emails`), in the user's language.

use super::context::{Caller, caller, client_addr, state};
use super::user::User;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, Object};

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Proves an address with the code emailed to it (`ABCDE-FGHJK`; case, dashes and spaces do
    /// not matter). The code comes from `register` or `resendVerificationEmail` (no sign-in
    /// needed: the code is the proof, and the email's link opens a page that sends it), or from
    /// `changeEmail`: that code works only signed in to the account that asked for it, and the
    /// new address then replaces the old one (which is told). Each code works once, and using
    /// one voids the account's others. Refusals change nothing: `CODE_INVALID` (mistyped, used,
    /// or replaced), `CODE_EXPIRED` (after `EMAIL_VERIFICATION_TTL_SECONDS`), `UNAUTHENTICATED`
    /// (a new address's code without the account's session), `BAD_USER_INPUT` (the new address
    /// was registered by another account meanwhile), and `RATE_LIMITED` after too many refused
    /// codes from one client address (the failed-login limit per address). Other API processes
    /// see the proven address within `USER_CACHE_SECONDS`.
    async fn verify_email(&self, ctx: &Context<'_>, code: String) -> GqlResult<bool> {
        let signed_in = match ctx.data_opt::<Caller>() {
            Some(Caller::User(claims)) => Some(claims.sub.as_str()),
            _ => None,
        };
        state(ctx)
            .auth
            .verify_email(&code, signed_in, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }

    /// Sends the caller's verification email again, with a new code (older ones keep working
    /// until one is used or they expire). `INVALID_STATE` once the address is proven;
    /// `RATE_LIMITED` past the account email limits (`ACCOUNT_EMAILS_*`).
    async fn resend_verification_email(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let claims = caller(ctx)?;
        state(ctx)
            .auth
            .resend_verification(&claims.sub, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }

    /// Asks to move the caller's account to `newEmail`, proven by the current password: a code
    /// goes to the new address, and the account keeps signing in with the old one until
    /// `verifyEmail` uses it. The answer is the account as it is (unchanged). A wrong password
    /// is `UNAUTHENTICATED` and counts as a failed login; an address already registered or
    /// malformed is `BAD_USER_INPUT`; past the account email limits, `RATE_LIMITED`. Each
    /// changes nothing.
    async fn change_email(
        &self,
        ctx: &Context<'_>,
        new_email: String,
        current_password: String,
    ) -> GqlResult<User> {
        let claims = caller(ctx)?;
        let user = state(ctx)
            .auth
            .change_email(&claims.sub, &new_email, &current_password, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(user.into())
    }

    /// Emails a single-use password-reset link to `email` if an account has it. The answer is
    /// `true` either way, after the same work, so it tells nobody whether the address is
    /// registered. A malformed address is `BAD_USER_INPUT`; past the account email limits
    /// (`ACCOUNT_EMAILS_*`: per address from this client, per client, per address from every
    /// client), `RATE_LIMITED`, the same for an address no account has.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> GqlResult<bool> {
        state(ctx)
            .auth
            .request_password_reset(&email, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }

    /// Sets a new password with the code of a reset email (within `PASSWORD_RESET_TTL_SECONDS`)
    /// and ends every session of the account: refresh tokens revoked, access tokens refused and
    /// live websockets closed within `USER_CACHE_SECONDS`. Then sign in with the new password.
    /// The code also proves the address. Refusals change nothing: `BAD_USER_INPUT` (a password
    /// outside 8 to 128 characters; the code stays usable), `CODE_INVALID` (used, unknown,
    /// replaced, or sent to an address the account has left), `CODE_EXPIRED`, `RATE_LIMITED`.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        code: String,
        new_password: String,
    ) -> GqlResult<bool> {
        state(ctx)
            .auth
            .reset_password(&code, &new_password, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }
}
