use super::context::{
    caller, caller_even_if_suspended, client_addr, identified_caller, paying_caller, state,
};
use super::types::{AuthPayload, Wallet};
use super::user::Role;
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, InputObject, Object};
use missionlink_identity::Registration;
use missionlink_ledger::idempotency::IdempotencyKey;
use missionlink_ledger::wallet;

#[derive(Default)]
pub struct IdentityMutation;

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub handle: String,
    pub display_name: Option<String>,
    pub role: Role,
    /// "ko" or "en"; the language of this user's emails and overlay. Left out, it is "ko"; read
    /// it on `me { locale }` and change it with `updateProfile`.
    pub locale: Option<String>,
}

#[Object]
impl IdentityMutation {
    /// Creates an account and signs in. Grants the signup points. Registrations per client
    /// address are throttled (`RATE_LIMITED`). `role: OPERATOR` is `FORBIDDEN`: operators are
    /// created with `missionlink operator create`. `role: STREAMER` is `FORBIDDEN` too, and
    /// creates nothing, unless the server runs with `STREAMER_SELF_REGISTRATION=true` (a
    /// development setting): streamers are verified, so register as a `VIEWER`, then apply
    /// with `applyAsStreamer` (an operator decides) or link a CHZZK channel with `linkChannel`
    /// (at once); the account stays the same.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> GqlResult<AuthPayload> {
        let registration = Registration {
            email: input.email,
            password: input.password,
            handle: input.handle,
            display_name: input.display_name,
            role: input.role.into(),
            locale: input.locale,
        };
        let session = state(ctx)
            .auth
            .register(registration, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(session.into())
    }

    /// Signs in. Repeated failures for one email or one address are throttled. A suspended
    /// account (with the right password) is `USER_SUSPENDED`, `extensions.until` saying when it
    /// ends (RFC 3339; `null`: until an operator lifts it).
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> GqlResult<AuthPayload> {
        let session = state(ctx)
            .auth
            .login(&email, &password, client_addr(ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(session.into())
    }

    /// Exchanges a refresh token for a new session; the old token stops working. A suspended
    /// account's token is `USER_SUSPENDED` and stays usable for after the suspension.
    ///
    /// Each refresh token works once. Presenting one that was already exchanged (a stolen copy,
    /// or two browser tabs refreshing with the same token) revokes its whole family: every
    /// session descended from that sign-in must sign in again. A client with several tabs
    /// refreshes in one place and shares the new tokens (a lock or a `BroadcastChannel`).
    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> GqlResult<AuthPayload> {
        let session = state(ctx)
            .auth
            .refresh(&refresh_token)
            .await
            .map_err(ApiError::from)?;
        Ok(session.into())
    }

    /// Changes the caller's display name and/or the language of their emails and overlay
    /// (`ko` or `en`); an argument left out stays as it is. Display names follow the same rules
    /// as at registration (1 to 50 visible characters on one line; names that read as the
    /// system are reserved). Refused input (`BAD_USER_INPUT`) changes nothing.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        display_name: Option<String>,
        locale: Option<String>,
    ) -> GqlResult<super::user::User> {
        let claims = caller(ctx)?;
        let user = state(ctx)
            .auth
            .update_profile(&claims.sub, display_name.as_deref(), locale.as_deref())
            .await
            .map_err(ApiError::from)?;
        Ok(user.into())
    }

    /// Turns the caller's optional emails on or off; an argument left out stays as it is:
    /// `missionAccepted` (a mission you back was accepted) and `verdictToCheck` (its success
    /// verdict is open to your objection). Settlement emails and receipts are never optional.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        mission_accepted: Option<bool>,
        verdict_to_check: Option<bool>,
    ) -> GqlResult<super::user::NotificationPreferences> {
        let claims = caller(ctx)?;
        let user = state(ctx)
            .auth
            .update_notification_preferences(&claims.sub, mission_accepted, verdict_to_check)
            .await
            .map_err(ApiError::from)?;
        Ok(super::user::User::from(user).notifications)
    }

    /// Changes the caller's password, proven by the current one, and ends every other session:
    /// all refresh tokens revoked and older access tokens refused, as `logoutEverywhere`. The
    /// answer is a fresh session to go on with. A wrong current password is `UNAUTHENTICATED`
    /// and counts as a failed login (`RATE_LIMITED` past the login limits); a new password
    /// outside 8 to 128 characters is `BAD_USER_INPUT`. Either changes nothing.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> GqlResult<AuthPayload> {
        let claims = caller(ctx)?;
        let session = state(ctx)
            .auth
            .change_password(
                &claims.sub,
                &current_password,
                &new_password,
                client_addr(ctx),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(session.into())
    }

    /// Signs out this session: the refresh token's whole family is revoked, so it refreshes no
    /// more. The access token lapses within 15 minutes; discard it. Always `true`: an unknown,
    /// expired or already revoked token is already signed out.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> GqlResult<bool> {
        state(ctx)
            .auth
            .logout(&refresh_token)
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }

    /// Signs the caller out everywhere: every refresh token revoked, and every access token
    /// issued until now refused (`UNAUTHENTICATED`) by this API process at once and by the
    /// others within `USER_CACHE_SECONDS`; a live websocket acting as the caller is closed
    /// (4403) within `STANDING_CHECK` after that. Sign in again to go on. A suspended account
    /// may do this too (its owner ends a thief's sessions), though it can do nothing else.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let claims = caller_even_if_suspended(ctx)?;
        state(ctx)
            .auth
            .logout_everywhere(&claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }

    /// Adds won to the wallet from the sandbox payment provider (1,000 to 1,000,000 won),
    /// counted toward the daily limit (`TOPUP_LIMIT_EXCEEDED`) and, for a minor, the monthly
    /// one (`TOPUP_MINOR_MONTHLY_LIMIT_EXCEEDED`; without a guardian's consent
    /// `GUARDIAN_CONSENT_REQUIRED`). Idempotent per `idempotencyKey`. Refused with `FORBIDDEN`
    /// when the server runs with `APP_ENV=production`: the sandbox provider takes no payment.
    async fn top_up(
        &self,
        ctx: &Context<'_>,
        amount: i32,
        idempotency_key: String,
    ) -> GqlResult<Wallet> {
        paying_caller(ctx)?;
        if !state(ctx).settings.sandbox_payments {
            return Err(ApiError::Forbidden(
                "topUp is the sandbox payment provider and is disabled in production".into(),
            )
            .into());
        }
        let (claims, limit) = identified_caller(ctx).await?;
        let key = IdempotencyKey::parse(&idempotency_key).map_err(ApiError::from)?;
        let rules = &state(ctx).settings.topups.rules;
        let wallet = wallet::top_up_counted(
            &state(ctx).db.missions,
            &claims.sub,
            &limit.key,
            i64::from(amount),
            &key,
            rules.daily_limit_won,
            limit.minor.then_some(rules.minor_monthly_limit_won),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Wallet::of(&claims.sub, wallet)?)
    }
}
