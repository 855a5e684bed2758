//! What every resolver reads from the request's context: the caller, the client's address and
//! the application state.

use crate::error::ApiError;
use crate::state::AppState;
use async_graphql::Context;
use missionlink_identity::AccessClaims;
use missionlink_identity::persons;
use missionlink_identity::suspension::Suspension;
use std::net::IpAddr;

/// Who is calling, from the `Authorization` header.
#[derive(Clone, Debug)]
pub enum Caller {
    Anonymous,
    User(AccessClaims),
    /// A token was sent but is invalid or expired; the reason is returned to the client when
    /// an operation needs authentication.
    Invalid(String),
    /// A valid token of a user who is suspended now: every operation that needs a user answers
    /// `USER_SUSPENDED`, except signing out everywhere ([`caller_even_if_suspended`]).
    Suspended(AccessClaims, Suspension),
}

/// The account of a `Caller::User` as the identity check found it (within
/// `USER_CACHE_SECONDS`): whether its address is proven, for [`paying_caller`].
#[derive(Clone, Debug)]
pub struct CallerAccount(pub std::sync::Arc<missionlink_identity::User>);

/// The client's network address, for per-address throttling.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// Where users reach this server (`PUBLIC_URL`; in dev, when unset, the address it listens on):
/// the base of the links an answer gives, such as the overlay's URL. Never taken from the
/// request (its `Host` header or a proxy's `X-Forwarded-*`): a forged one would make the answer
/// send the user's link, token included, to a host of the sender's choosing.
#[derive(Clone, Debug)]
pub struct PublicOrigin(pub String);

pub(crate) fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The authenticated caller, or `UNAUTHENTICATED` (`USER_SUSPENDED` for a suspended one).
pub(crate) fn caller<'a>(ctx: &Context<'a>) -> Result<&'a AccessClaims, ApiError> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::User(claims)) => Ok(claims),
        Some(Caller::Invalid(why)) => Err(ApiError::Unauthenticated(why.clone())),
        Some(Caller::Suspended(_, suspension)) => Err((*suspension).into()),
        _ => Err(ApiError::Unauthenticated(
            "sign in first: send Authorization: Bearer <accessToken>".into(),
        )),
    }
}

/// The authenticated caller if they are a streamer; `FORBIDDEN` saying `refusal` otherwise.
pub(crate) fn streamer_caller<'a>(
    ctx: &Context<'a>,
    refusal: &str,
) -> Result<&'a AccessClaims, ApiError> {
    let claims = caller(ctx)?;
    if claims.role != missionlink_identity::Role::Streamer {
        return Err(ApiError::Forbidden(refusal.to_owned()));
    }
    Ok(claims)
}

/// The authenticated caller of a money action (a top-up, a proposal, a pledge, a payout
/// request, a streamer application): with `EMAIL_VERIFICATION_REQUIRED`, one whose address is
/// proven, else `EMAIL_NOT_VERIFIED`, before anything is read or written.
pub(crate) fn paying_caller<'a>(ctx: &Context<'a>) -> Result<&'a AccessClaims, ApiError> {
    let claims = caller(ctx)?;
    let auth = &state(ctx).auth;
    let proven = ctx
        .data_opt::<CallerAccount>()
        .is_some_and(|account| auth.may_move_money(&account.0));
    if proven || !auth.email_verification_required {
        Ok(claims)
    } else {
        Err(ApiError::Refused {
            code: "EMAIL_NOT_VERIFIED",
            message: "verify your email address first: use the code we sent you \
                      (verifyEmail), or ask for a new one (resendVerificationEmail)"
                .into(),
            retry_at: None,
        })
    }
}

/// The caller of a top-up (`prepareTopUp`, the sandbox `topUp`), as [`paying_caller`], and
/// with `TOPUP_REQUIRES_IDENTITY` one whose identity is verified (`verifyIdentity`), else
/// `IDENTITY_REQUIRED`; a verified minor (under 19 now) only with a guardian's consent
/// (`recordGuardianConsent`), else `GUARDIAN_CONSENT_REQUIRED`; each before anything is
/// written or the payment provider asked. Also the key the caller's limits count by (the
/// person when verified, so one person's accounts share one limit) and whether the caller is a
/// minor (whose top-ups count against `TOPUP_MINOR_MONTHLY_LIMIT_WON` too). `confirmTopUp`
/// does not ask: the payment it confirms is already taken, and its order says whose limits it
/// counts against.
pub(crate) async fn identified_caller<'a>(
    ctx: &Context<'a>,
) -> Result<(&'a AccessClaims, persons::LimitKey), ApiError> {
    let claims = paying_caller(ctx)?;
    let auth = &state(ctx).auth;
    let limit = persons::limit_key(&auth.users_db, &claims.sub).await?;
    if !limit.verified && auth.persons.topup_requires_identity {
        return Err(ApiError::Refused {
            code: "IDENTITY_REQUIRED",
            message: "verify who you are first (verifyIdentity): top-ups need a verified \
                      identity"
                .into(),
            retry_at: None,
        });
    }
    persons::guardian::require_for_top_up(&auth.users_db, &claims.sub, &limit).await?;
    Ok((claims, limit))
}

/// The authenticated caller, suspended or not: only for `logoutEverywhere`, so the owner of a
/// suspended account (a taken-over one, say) can still end every session of it.
pub(crate) fn caller_even_if_suspended<'a>(
    ctx: &Context<'a>,
) -> Result<&'a AccessClaims, ApiError> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Suspended(claims, _)) => Ok(claims),
        _ => caller(ctx),
    }
}

/// The client's address for per-address throttles (HTTP and the websocket both provide it; see
/// `proxy.rs`). A request without one shares the unspecified address's buckets: stricter, never
/// looser.
pub(crate) fn client_addr(ctx: &Context<'_>) -> IpAddr {
    ctx.data_opt::<ClientAddr>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0)
}
