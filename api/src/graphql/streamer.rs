//! Becoming a verified streamer, in GraphQL (issue 25, item 5): a viewer's `applyAsStreamer`
//! and `myStreamerApplication`; the operators' `approveStreamer`, `refuseStreamer` and
//! `streamerApplications`; and `linkChannel`, verified at once by the platform's OAuth API.
//! Thin: the rules and the two-database sequence are `missionlink_identity::streamers`'.

use super::connection::{List, PageArgs, list_cost, page_list};
use super::context::{caller, paying_caller, state};
use super::operator::{OperatorAction, operator};
use super::user::{User, load_user};
use super::verified_channel::{StreamerPlatform, VerifiedChannel};
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_identity::Role;
use missionlink_identity::streamers::{self, Application, link};
use missionlink_ledger::operator::Acting;

/// A viewer's application to become a streamer, for the channel at `channelUrl`.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct StreamerApplication {
    pub id: ID,
    pub platform: StreamerPlatform,
    /// The channel's address, in its canonical form.
    pub channel_url: String,
    /// The channel's id on its platform, read from the address.
    pub channel_id: String,
    pub status: StreamerApplicationStatus,
    /// The deciding operator's note (null while pending).
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub user_id: String,
    #[graphql(skip)]
    pub decided_by: Option<String>,
}

/// Where a streamer application stands. Only `PENDING` changes, once.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_identity::ApplicationStatus")]
pub enum StreamerApplicationStatus {
    /// Waiting for an operator.
    Pending,
    /// The account is a streamer, its channel verified.
    Approved,
    /// The account stays a viewer; it may apply again.
    Refused,
}

impl TryFrom<Application> for StreamerApplication {
    type Error = ApiError;

    fn try_from(a: Application) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(a.id),
            platform: a.platform.into(),
            channel_url: a.channel_url,
            channel_id: a.channel_id,
            status: a.status.into(),
            note: a.note,
            created_at: a.created_at,
            decided_at: a.decided_at,
            user_id: a.user_id,
            decided_by: a.decided_by,
        })
    }
}

#[ComplexObject]
impl StreamerApplication {
    /// Who applied.
    async fn user(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.user_id, Role::Viewer).await?)
    }

    /// The operator who decided (null while pending).
    async fn decided_by(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        match &self.decided_by {
            Some(id) => Ok(Some(load_user(ctx, id, Role::Operator).await?)),
            None => Ok(None),
        }
    }
}

/// An operator's decision on a streamer application: the application as decided, and the
/// operator action that records it.
#[derive(SimpleObject)]
pub struct StreamerDecision {
    pub application: StreamerApplication,
    pub action: OperatorAction,
}

#[derive(Default)]
pub struct StreamerQuery;

#[Object]
impl StreamerQuery {
    /// Streamer applications, newest first, optionally in one status (operators only).
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn streamer_applications(
        &self,
        ctx: &Context<'_>,
        status: Option<StreamerApplicationStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<StreamerApplication>> {
        operator(ctx)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = args.window()?;
        let db = &state(ctx).db.users;
        let (page, counted) = streamers::applications(db, status.map(Into::into), &window)
            .await
            .map_err(ApiError::from)?;
        Ok(page_list(db, page, counted)?)
    }

    /// Your latest streamer application, whatever its status (null if you never applied).
    async fn my_streamer_application(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<StreamerApplication>> {
        let claims = caller(ctx)?;
        let found = streamers::latest_of(&state(ctx).db.users, &claims.sub)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(StreamerApplication::try_from).transpose()?)
    }
}

#[derive(Default)]
pub struct StreamerMutation;

#[Object]
impl StreamerMutation {
    /// Applies to become a streamer with the channel at `channelUrl` (viewers): an operator
    /// approves or refuses it. The address must be the platform's channel page: CHZZK
    /// `https://chzzk.naver.com/<32-character channel id>`, SOOP `https://ch.sooplive.co.kr/<id>`
    /// (or `https://bj.afreecatv.com/<id>`), Twitch `https://www.twitch.tv/<login>`; anything
    /// else is `BAD_USER_INPUT`. One application at a time (`APPLICATION_PENDING`); a streamer
    /// gets `ALREADY_STREAMER`, a channel another account has `CHANNEL_ALREADY_LINKED`. A
    /// refusal changes nothing. A CHZZK channel can be verified at once with `linkChannel`.
    /// With `EMAIL_VERIFICATION_REQUIRED`, an unproven address is `EMAIL_NOT_VERIFIED`; past
    /// `STREAMER_REQUESTS_MAX_PER_USER` applications and links per
    /// `STREAMER_REQUESTS_WINDOW_SECONDS`, `RATE_LIMITED`.
    async fn apply_as_streamer(
        &self,
        ctx: &Context<'_>,
        platform: StreamerPlatform,
        channel_url: String,
    ) -> GqlResult<StreamerApplication> {
        // A money action's caller: an unproven address answers EMAIL_NOT_VERIFIED.
        let claims = paying_caller(ctx)?;
        count_request(ctx, &claims.sub).await?;
        let application = streamers::apply(
            &state(ctx).db.users,
            &claims.sub,
            platform.into(),
            &channel_url,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(application.try_into()?)
    }

    /// Approves the user's pending streamer application (operators only): the same account
    /// (id, wallet, history) becomes a STREAMER at once, its channel verified by you. Recorded
    /// as an operator action (`APPROVE_STREAMER`) with `note` (required). `INVALID_STATE`
    /// without a pending application or when it was already decided the other way;
    /// `ALREADY_STREAMER` if the user became one meanwhile (refuse the application instead);
    /// `CHANNEL_ALREADY_LINKED` if another account has the channel. Approving again after a
    /// failure between the two databases finishes the first approval; an approval recorded but
    /// no longer applicable (the channel or the account changed in between) closes the
    /// application as refused, its note saying why.
    async fn approve_streamer(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        note: String,
    ) -> GqlResult<StreamerDecision> {
        decide(ctx, &user_id, &note, true).await
    }

    /// Refuses the user's pending streamer application (operators only): the account stays a
    /// viewer and may apply again. Recorded (`REFUSE_STREAMER`) with `note` (required), which
    /// the applicant reads on `myStreamerApplication`.
    async fn refuse_streamer(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        note: String,
    ) -> GqlResult<StreamerDecision> {
        decide(ctx, &user_id, &note, false).await
    }

    /// Links the caller's channel on `platform` (CHZZK only) through the platform's OAuth API,
    /// and makes the account a verified streamer at once (same account, wallet and history).
    /// Send the user to CHZZK's account-interlock page with your `redirectUri` and a `state`
    /// you generate; CHZZK sends the browser back to `redirectUri?code=…&state=…`. Check that
    /// `state` is the one you sent (this server did not issue it), then pass `code`,
    /// `redirectUri` and `state` here. Refused, changing nothing: `CHANNEL_NOT_VERIFIED` (CHZZK
    /// refused the code: wrong, expired or used), `CHANNEL_ALREADY_LINKED` (another account has
    /// the channel), `CHANNEL_VERIFIER_NOT_CONFIGURED` (this server has no CHZZK application),
    /// `CHANNEL_VERIFIER_UNAVAILABLE` (CHZZK did not answer: try again), `INVALID_STATE` (your
    /// account has another channel), `EMAIL_NOT_VERIFIED` (an unproven address, with
    /// `EMAIL_VERIFICATION_REQUIRED`), `RATE_LIMITED` (past `STREAMER_REQUESTS_MAX_PER_USER`). A
    /// pending application is closed: nothing is left for an operator to decide.
    async fn link_channel(
        &self,
        ctx: &Context<'_>,
        platform: StreamerPlatform,
        code: String,
        redirect_uri: String,
        #[graphql(name = "state", default)] oauth_state: String,
    ) -> GqlResult<VerifiedChannel> {
        // Becoming a streamer is a money action: an unproven address answers
        // EMAIL_NOT_VERIFIED.
        let claims = paying_caller(ctx)?;
        count_request(ctx, &claims.sub).await?;
        let app = state(ctx);
        let channel = link::link_channel(
            &app.db.users,
            app.auth.channel_verifier.as_ref(),
            &claims.sub,
            link::LinkRequest {
                platform: platform.into(),
                code: &code,
                redirect_uri: &redirect_uri,
                state: &oauth_state,
            },
        )
        .await
        .map_err(ApiError::from)?;
        app.auth.active_users.forget(&claims.sub).await;
        Ok(channel.into())
    }
}

/// Counts one streamer request of `user_id` (`STREAMER_REQUESTS_*`), before any work.
async fn count_request(ctx: &Context<'_>, user_id: &str) -> Result<(), ApiError> {
    let limits = &state(ctx).settings.identity.channels;
    streamers::count_request(
        &state(ctx).db.users,
        user_id,
        limits.requests_max_per_user,
        limits.requests_window_seconds,
    )
    .await
    .map_err(ApiError::from)
}

/// Decides `user_id`'s pending application as the calling operator.
async fn decide(
    ctx: &Context<'_>,
    user_id: &ID,
    note: &str,
    approve: bool,
) -> GqlResult<StreamerDecision> {
    let acting = Acting::new(&operator(ctx)?, note).map_err(ApiError::from)?;
    let app = state(ctx);
    let done = streamers::decide(
        &app.db.users,
        &app.db.missions,
        &acting,
        user_id.as_str(),
        approve,
    )
    .await
    .map_err(ApiError::from)?;
    // Its next request reads the row, and with it the role (the identity check, `extensions/identity.rs`).
    app.auth.active_users.forget(user_id.as_str()).await;
    Ok(StreamerDecision {
        application: done.application.try_into()?,
        action: done.action.try_into()?,
    })
}
