//! Users in GraphQL: `User`, the lists only its own user reads (`me { pledges missions bets }`)
//! and `user(handle:)`.

use super::connection::{List, PageArgs, list, list_cost};
use super::context::{caller, state};
use super::loaders::UserLoader;
use super::mission::{
    Mission, MissionOrder, MissionStatus, Pledge, PledgeStatus, missions_page, order_cost,
};
use super::prediction::Bet;
use crate::error::{ApiError, GqlResult};
use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use missionlink_ledger::mission::list::{self as lists, MissionFilter};

/// A registered user. `pledges`, `missions` and `bets` are the signed-in user's own lists, read
/// on `me`; on anyone else's `User` they are `FORBIDDEN` (a mission's pledges, with their
/// backers, are public on the mission itself; bets are private).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    pub handle: String,
    pub display_name: String,
    pub role: Role,
    /// Read through `locale`, by its own user only.
    #[graphql(skip)]
    pub locale: missionlink_identity::Locale,
    /// Read through `email`, by its own user only.
    #[graphql(skip)]
    pub email: String,
    /// Read through `emailVerified`, by its own user only.
    #[graphql(skip)]
    pub email_verified: bool,
    /// Read through `notificationPreferences`, by its own user only.
    #[graphql(skip)]
    pub notifications: NotificationPreferences,
}

/// Which optional emails a user gets. Settlement emails (what became of a pledge) and receipts
/// are never optional.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotificationPreferences {
    /// When a mission they back is accepted: its deadline and the streamer's channel.
    pub mission_accepted: bool,
    /// When a mission they back has a success verdict open to objections: the verdict, its
    /// evidence, and how and until when to object.
    pub verdict_to_check: bool,
}

/// What a user is on the platform. Stored as `VIEWER` / `STREAMER` / `OPERATOR`.
///
/// `OPERATOR` is never self-assigned: `register` refuses it, and operators are created by
/// `missionlink operator create`. `STREAMER` is earned: unless the server runs with
/// `STREAMER_SELF_REGISTRATION=true`, a viewer becomes a streamer when an operator approves
/// their application (`applyAsStreamer`) or when they link a CHZZK channel (`linkChannel`),
/// keeping the same account. No other role ever changes.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_identity::Role")]
pub enum Role {
    Viewer,
    Streamer,
    Operator,
}

impl From<missionlink_identity::User> for User {
    fn from(u: missionlink_identity::User) -> Self {
        Self {
            id: ID(u.id),
            handle: u.handle,
            display_name: u.display_name,
            role: u.role.into(),
            locale: u.locale,
            email_verified: u.email_verified_at.is_some(),
            email: u.email,
            notifications: NotificationPreferences {
                mission_accepted: u.notify_accepted,
                verdict_to_check: u.notify_verifying,
            },
        }
    }
}

/// Which side of a mission a user is on.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissionRole {
    /// They proposed it.
    Creator,
    /// It was proposed to them.
    Streamer,
}

impl User {
    /// This user's id, if the caller is this user; `FORBIDDEN` saying `refusal` otherwise.
    fn own_or<'a>(&'a self, ctx: &Context<'_>, refusal: &str) -> Result<&'a str, ApiError> {
        if caller(ctx)?.sub == self.id.as_str() {
            Ok(self.id.as_str())
        } else {
            Err(ApiError::Forbidden(refusal.into()))
        }
    }

    /// [`User::own_or`] for the lists only their own user reads.
    fn own<'a>(&'a self, ctx: &Context<'_>) -> Result<&'a str, ApiError> {
        self.own_or(
            ctx,
            "only your own pledges, missions and bets can be listed: read them on `me`",
        )
    }
}

#[ComplexObject]
impl User {
    /// The language of this user's emails and overlay, `ko` or `en` (`ko` when none was given at
    /// registration); change it with `updateProfile`. Only its own user reads it (`FORBIDDEN`
    /// on anyone else's `User`).
    async fn locale(&self, ctx: &Context<'_>) -> GqlResult<String> {
        self.own_or(ctx, "only your own locale can be read: read it on `me`")?;
        Ok(self.locale.as_str().to_owned())
    }

    /// The address this user signs in with and receives email at; its own user only
    /// (`FORBIDDEN` otherwise). A new address asked for with `changeEmail` shows here once it is
    /// proven.
    async fn email(&self, ctx: &Context<'_>) -> GqlResult<String> {
        self.own_or(ctx, "only your own email can be read: read it on `me`")?;
        Ok(self.email.clone())
    }

    /// Whether `email` is proven (by the code sent to it: `verifyEmail`). Until it is, and with
    /// `EMAIL_VERIFICATION_REQUIRED` (the default), money actions answer `EMAIL_NOT_VERIFIED`.
    /// Its own user only (`FORBIDDEN` otherwise).
    async fn email_verified(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        self.own_or(ctx, "only your own account can be read: read it on `me`")?;
        Ok(self.email_verified)
    }

    /// Which optional emails this user gets (`updateNotificationPreferences`); its own user
    /// only (`FORBIDDEN` otherwise).
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<NotificationPreferences> {
        self.own_or(ctx, "only your own account can be read: read it on `me`")?;
        Ok(self.notifications)
    }

    /// This user's verified identity (`verifyIdentity`): when, and whether the person is an
    /// adult; null until verified. Its own user only (`FORBIDDEN` otherwise).
    async fn identity(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::person::IdentityStatus>> {
        let id = self.own_or(ctx, "only your own identity can be read: read it on `me`")?;
        super::person::identity_of(ctx, id).await
    }

    /// The channel this streamer was verified as the owner of (null for viewers and
    /// operators). Public. (`channel` is the streamer's rules, from before channels were
    /// verified; it keeps its name.)
    async fn verified_channel(
        &self,
        ctx: &Context<'_>,
    ) -> GqlResult<Option<super::verified_channel::VerifiedChannel>> {
        if self.role != Role::Streamer {
            return Ok(None);
        }
        let loader = ctx.data_unchecked::<DataLoader<super::loaders::ChannelLoader>>();
        let found = loader
            .load_one(self.id.to_string())
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
        Ok(found.map(Into::into))
    }

    /// A streamer's channel rules, for anyone about to propose a mission (null for viewers).
    async fn channel(&self, ctx: &Context<'_>) -> GqlResult<Option<super::channel::ChannelRules>> {
        if self.role != Role::Streamer {
            return Ok(None);
        }
        Ok(Some(super::channel::rules_of(ctx, &self.id).await?))
    }

    /// Your pledges, newest first, optionally in one status.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn pledges(
        &self,
        ctx: &Context<'_>,
        status: Option<PledgeStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Pledge>> {
        let me = self.own(ctx)?;
        let select = lists::pledges(None, Some(me), status.map(Into::into));
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(
            &state(ctx).db.missions,
            select,
            &lists::pledge_order(true),
            &args,
        )
        .await?)
    }

    /// Missions you proposed (`as: CREATOR`) or that were proposed to you (`as: STREAMER`; by
    /// default, STREAMER for a streamer and CREATOR for a viewer), newest first unless
    /// `orderBy` says otherwise, in one `status` or any of `statuses`.
    #[graphql(
        complexity = "list_cost(first, last, child_complexity, order_cost(order_by.as_ref()))"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn missions(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "as")] side: Option<MissionRole>,
        status: Option<MissionStatus>,
        statuses: Option<Vec<MissionStatus>>,
        order_by: Option<MissionOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Mission>> {
        let me = self.own(ctx)?.to_owned();
        let side = side.unwrap_or(match self.role {
            Role::Streamer => MissionRole::Streamer,
            Role::Viewer | Role::Operator => MissionRole::Creator,
        });
        let filter = match side {
            MissionRole::Creator => MissionFilter {
                creator_id: Some(me),
                ..MissionFilter::default()
            },
            MissionRole::Streamer => MissionFilter {
                streamer_id: Some(me),
                ..MissionFilter::default()
            },
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        missions_page(ctx, filter, status, statuses, order_by, &args).await
    }

    /// Your bets on predictions, newest first.
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn bets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Bet>> {
        let me = self.own(ctx)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(
            &state(ctx).db.missions,
            lists::bets(me),
            &lists::bet_order(true),
            &args,
        )
        .await?)
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The user with this handle (any letter case), or null: how to find a streamer's id.
    async fn user(&self, ctx: &Context<'_>, handle: String) -> GqlResult<Option<User>> {
        let found = state(ctx)
            .auth
            .user_by_handle(&handle)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(User::from))
    }
}

/// The user `id`, or — if that user's row is gone — a placeholder with the same id: a mission
/// or pledge stays readable (its user fields are non-null) after its user is deleted.
pub(crate) async fn load_user(
    ctx: &async_graphql::Context<'_>,
    id: &str,
    role: missionlink_identity::Role,
) -> Result<User, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let found = loader
        .load_one(id.to_owned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading user {id}: {e}")))?;
    match found {
        Some(user) => Ok(User::from(user)),
        None => Ok(deleted_user(id, role)),
    }
}

/// The users `ids`, in that order, in one batched read; a deleted one is a placeholder, as in
/// [`load_user`].
pub(crate) async fn load_users(
    ctx: &async_graphql::Context<'_>,
    ids: &[String],
    role: missionlink_identity::Role,
) -> Result<Vec<User>, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let found = loader
        .load_many(ids.iter().cloned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading users: {e}")))?;
    ids.iter()
        .map(|id| match found.get(id) {
            Some(user) => Ok(User::from(user.clone())),
            None => Ok(deleted_user(id, role)),
        })
        .collect()
}

/// Handle of the placeholder shown for a user who no longer exists; no real handle can be it
/// (handles are letters, digits and underscores).
pub const DELETED_USER_HANDLE: &str = "deleted-user";

fn deleted_user(id: &str, role: missionlink_identity::Role) -> User {
    User::placeholder(id, DELETED_USER_HANDLE, "Deleted user", role)
}

impl User {
    /// A stand-in shown where no user can be (a deleted one, an anonymous backer): no address,
    /// and nothing only its own user reads is ever read on it (no caller has its id).
    pub(crate) fn placeholder(
        id: &str,
        handle: &str,
        display_name: &str,
        role: missionlink_identity::Role,
    ) -> Self {
        Self {
            id: ID(id.to_owned()),
            handle: handle.to_owned(),
            display_name: display_name.to_owned(),
            role: role.into(),
            locale: missionlink_identity::Locale::Ko,
            email: String::new(),
            email_verified: false,
            notifications: NotificationPreferences {
                mission_accepted: false,
                verdict_to_check: false,
            },
        }
    }
}
