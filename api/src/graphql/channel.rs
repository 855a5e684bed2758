//! A streamer's channel in GraphQL: `streamerSettings` and `updateStreamerSettings` (their own),
//! `User.channel` (what any proposer may read: are requests open, the least first pledge, the
//! longest mission), moderation of pledge messages (`approveMessage`, `hideMessage`), the
//! channel's moderators (`appointModerator`, `dismissModerator`) and the record of every
//! moderation action (`moderationLog`).

use super::connection::{List, PageArgs, list, list_cost};
use super::context::{caller, state, streamer_caller};
use super::money::Won;
use super::pledge::Pledge;
use super::user::User;
use super::user::{load_user, load_users};
use crate::error::{ApiError, GqlResult};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use missionlink_entities::missions::moderation_action;
use missionlink_identity::Role;
use missionlink_ledger::channel::{
    self, Moderation, Settings, SettingsUpdate, moderators, settings,
};
use missionlink_ledger::listing::Order;
use missionlink_ledger::mission::list as lists;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// A streamer's settings for their channel, as they see and change them.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct StreamerSettings {
    /// Whether viewers may propose missions now (`REQUESTS_CLOSED` otherwise).
    pub accepting_requests: bool,
    /// The least first pledge of a proposal (`BELOW_STREAMER_MINIMUM`); null: the platform's
    /// `PLEDGE_MIN`.
    pub min_first_pledge: Option<Won>,
    /// The longest mission taken (`ABOVE_STREAMER_MAXIMUM`); null: the platform's longest.
    pub max_duration_seconds: Option<i64>,
    /// Whether pledge messages show only once approved.
    pub manual_approval: bool,
    /// Words refused (`CONTENT_BLOCKED`) in titles, descriptions and messages, beside the
    /// platform's own; matched ignoring case, width and spaces.
    pub banned_words: Vec<String>,
    /// Whether your accepted missions (and reached goals) open a prediction.
    pub predictions_enabled: bool,
    /// How long betting stays open after an acceptance (or a goal reached), 30 to 1,800
    /// seconds; null: the platform's `PREDICTION_WINDOW_SECONDS`.
    pub prediction_window_seconds: Option<i32>,
    #[graphql(skip)]
    pub blocked: Vec<String>,
}

impl TryFrom<Settings> for StreamerSettings {
    type Error = ApiError;

    fn try_from(s: Settings) -> Result<Self, ApiError> {
        Ok(Self {
            accepting_requests: s.accepting_requests,
            min_first_pledge: s
                .min_first_pledge
                .map(|w| Won::of(w, "minFirstPledge"))
                .transpose()?,
            max_duration_seconds: s.max_duration_seconds,
            manual_approval: s.manual_approval,
            banned_words: s.banned_words,
            predictions_enabled: s.predictions_enabled,
            prediction_window_seconds: s.prediction_window_seconds,
            blocked: s.blocked_users,
        })
    }
}

#[async_graphql::ComplexObject]
impl StreamerSettings {
    /// Users who may accept or reject missions and approve or hide messages here (never decide
    /// a verdict), longest-serving first.
    async fn moderators(&self, ctx: &Context<'_>) -> GqlResult<Vec<User>> {
        let me = streamer(ctx)?;
        let ids = moderators::list(&state(ctx).db.missions, &me)
            .await
            .map_err(ApiError::from)?;
        Ok(load_users(ctx, &ids, Role::Viewer).await?)
    }

    /// Users who may not propose missions to this channel (they are told only `FORBIDDEN`).
    async fn blocked_users(&self, ctx: &Context<'_>) -> GqlResult<Vec<User>> {
        Ok(load_users(ctx, &self.blocked, Role::Viewer).await?)
    }
}

/// What a proposer may know of a streamer's channel before proposing.
#[derive(SimpleObject)]
pub struct ChannelRules {
    pub accepting_requests: bool,
    /// The least first pledge this streamer takes (their own, or the platform's).
    pub min_first_pledge: Won,
    /// The longest mission this streamer takes, in seconds.
    pub max_duration_seconds: i64,
}

/// The rules of `streamer_id`'s channel, with the platform's bounds where they set none.
pub(crate) async fn rules_of(ctx: &Context<'_>, streamer_id: &str) -> GqlResult<ChannelRules> {
    let app = state(ctx);
    let s = settings::read(&app.db.missions, streamer_id)
        .await
        .map_err(ApiError::from)?;
    let platform = &app.settings.missions.rules;
    Ok(ChannelRules {
        accepting_requests: s.accepting_requests,
        min_first_pledge: Won::of(
            s.min_first_pledge.unwrap_or(platform.pledge_min_won),
            "minFirstPledge",
        )?,
        max_duration_seconds: s
            .max_duration_seconds
            .unwrap_or(platform.max_duration_seconds),
    })
}

/// A change of settings: each field given replaces the current value; an explicit null resets
/// `minFirstPledge`, `maxDurationSeconds` or `predictionWindowSeconds` to the platform's.
#[derive(InputObject)]
pub struct StreamerSettingsInput {
    pub accepting_requests: Option<bool>,
    pub min_first_pledge: MaybeUndefined<i32>,
    pub max_duration_seconds: MaybeUndefined<i32>,
    pub manual_approval: Option<bool>,
    /// The whole list (at most 500 words of at most 50 characters).
    pub banned_words: Option<Vec<String>>,
    /// The whole list of blocked user ids (at most 1,000).
    pub blocked_users: Option<Vec<ID>>,
    /// Off: your missions open no prediction from now on (an open one runs to its end).
    pub predictions_enabled: Option<bool>,
    /// 30 to 1,800 seconds.
    pub prediction_window_seconds: MaybeUndefined<i32>,
}

/// An optional setting as an update reads it: absent keeps it, null resets it, a value sets it.
fn maybe<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(n) => Some(Some(n)),
    }
}

/// The caller's id if they are a streamer; `FORBIDDEN` otherwise.
fn streamer(ctx: &Context<'_>) -> Result<String, ApiError> {
    Ok(streamer_caller(ctx, "only streamers have a channel")?
        .sub
        .clone())
}

#[derive(Default)]
pub struct ChannelQuery;

#[Object]
impl ChannelQuery {
    /// Your channel's settings (streamers only).
    async fn streamer_settings(&self, ctx: &Context<'_>) -> GqlResult<StreamerSettings> {
        let me = streamer(ctx)?;
        own_settings(ctx, &me).await
    }

    /// Pledges whose messages wait for approval in `streamerId`'s channel, oldest first (the
    /// streamer and their moderators only).
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn pending_messages(
        &self,
        ctx: &Context<'_>,
        streamer_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<Pledge>> {
        let claims = caller(ctx)?;
        let app = state(ctx);
        let moderates = claims.sub == streamer_id.as_str()
            || moderators::is_moderator(&app.db.missions, streamer_id.as_str(), &claims.sub)
                .await
                .map_err(ApiError::from)?;
        if !moderates {
            return Err(ApiError::Forbidden(
                "only the streamer and their moderators see messages waiting for approval".into(),
            )
            .into());
        }
        let select = lists::pending_messages(streamer_id.as_str());
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(&app.db.missions, select, &lists::pledge_order(false), &args).await?)
    }

    /// What was done in your channel, newest first: every acceptance, rejection, approval and
    /// hiding, by you or your moderators (streamers only).
    #[graphql(complexity = "list_cost(first, last, child_complexity, 0)")]
    async fn moderation_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<List<ModerationRecord>> {
        let me = streamer(ctx)?;
        let select = moderation_action::Entity::find()
            .filter(moderation_action::Column::StreamerId.eq(me.as_str()));
        let order = Order {
            tag: "moderation:created",
            sort: None,
            id: Expr::col((moderation_action::Entity, moderation_action::Column::Id)),
            descending: true,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(list(&state(ctx).db.missions, select, &order, &args).await?)
    }
}

#[derive(Default)]
pub struct ChannelMutation;

#[Object]
impl ChannelMutation {
    /// Changes your channel's settings (streamers only); refused input changes nothing.
    async fn update_streamer_settings(
        &self,
        ctx: &Context<'_>,
        input: StreamerSettingsInput,
    ) -> GqlResult<StreamerSettings> {
        let me = streamer(ctx)?;
        let app = state(ctx);
        let update = SettingsUpdate {
            accepting_requests: input.accepting_requests,
            min_first_pledge: maybe(input.min_first_pledge).map(|v| v.map(i64::from)),
            max_duration_seconds: maybe(input.max_duration_seconds).map(|v| v.map(i64::from)),
            manual_approval: input.manual_approval,
            banned_words: input.banned_words,
            blocked_users: input
                .blocked_users
                .map(|ids| ids.into_iter().map(|id| id.to_string()).collect()),
            predictions_enabled: input.predictions_enabled,
            prediction_window_seconds: maybe(input.prediction_window_seconds),
        };
        let saved = settings::update(&app.db.missions, &app.settings.missions.rules, &me, update)
            .await
            .map_err(ApiError::from)?;
        Ok(StreamerSettings::try_from(saved)?)
    }

    /// Appoints a moderator of your channel (streamers only; at most 50).
    async fn appoint_moderator(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> GqlResult<StreamerSettings> {
        let me = streamer(ctx)?;
        let app = state(ctx);
        app.auth
            .user(user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        moderators::appoint(&app.db.missions, &me, user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        own_settings(ctx, &me).await
    }

    /// Dismisses a moderator of your channel (streamers only).
    async fn dismiss_moderator(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> GqlResult<StreamerSettings> {
        let me = streamer(ctx)?;
        moderators::dismiss(&state(ctx).db.missions, &me, user_id.as_str())
            .await
            .map_err(ApiError::from)?;
        own_settings(ctx, &me).await
    }

    /// Shows a pledge's message (the mission's streamer or a moderator of theirs who neither
    /// pledged to nor bet on it: `CONFLICT_OF_INTEREST`); the feed says `MESSAGE_APPROVED`.
    async fn approve_message(&self, ctx: &Context<'_>, pledge_id: ID) -> GqlResult<Pledge> {
        moderate(ctx, &pledge_id, Moderation::Approve).await
    }

    /// Hides a pledge's message (as `approveMessage` may); the pledge and its money stay as they
    /// are. The feed says `MESSAGE_HIDDEN`.
    async fn hide_message(&self, ctx: &Context<'_>, pledge_id: ID) -> GqlResult<Pledge> {
        moderate(ctx, &pledge_id, Moderation::Hide).await
    }
}

async fn own_settings(ctx: &Context<'_>, me: &str) -> GqlResult<StreamerSettings> {
    let s = settings::read(&state(ctx).db.missions, me)
        .await
        .map_err(ApiError::from)?;
    Ok(StreamerSettings::try_from(s)?)
}

/// One moderation action in a channel.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ModerationRecord {
    pub id: ID,
    pub action: ModerationActionKind,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was done: `createdAt`, the name every type uses.
    #[graphql(deprecation = "use createdAt, the name every type uses")]
    pub at: chrono::DateTime<chrono::Utc>,
    #[graphql(skip)]
    pub actor_id: String,
    #[graphql(skip)]
    pub mission_id: String,
    #[graphql(skip)]
    pub pledge_id: Option<String>,
}

/// What was done.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(
    remote = "missionlink_ledger::status::ModerationAction",
    name = "ModerationAction"
)]
pub enum ModerationActionKind {
    Accept,
    Reject,
    ApproveMessage,
    HideMessage,
}

impl TryFrom<moderation_action::Model> for ModerationRecord {
    type Error = ApiError;

    fn try_from(a: moderation_action::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(a.id),
            action: a.action.into(),
            created_at: a.created_at,
            at: a.created_at,
            actor_id: a.actor_id,
            mission_id: a.mission_id,
            pledge_id: a.pledge_id,
        })
    }
}

#[async_graphql::ComplexObject]
impl ModerationRecord {
    /// The streamer or moderator who did it.
    async fn actor(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(load_user(ctx, &self.actor_id, Role::Viewer).await?)
    }

    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<super::mission::Mission> {
        Ok(super::mission::load_mission(ctx, &self.mission_id).await?)
    }

    /// The pledge whose message was approved or hidden.
    async fn pledge(&self, ctx: &Context<'_>) -> GqlResult<Option<Pledge>> {
        let Some(id) = &self.pledge_id else {
            return Ok(None);
        };
        let found = missionlink_entities::missions::pledge::Entity::find_by_id(id.clone())
            .one(&state(ctx).db.missions)
            .await
            .map_err(ApiError::from)?;
        Ok(found.map(Pledge::try_from).transpose()?)
    }
}

async fn moderate(ctx: &Context<'_>, pledge_id: &ID, action: Moderation) -> GqlResult<Pledge> {
    let claims = caller(ctx)?;
    let app = state(ctx);
    let p = channel::moderate(&app.db.missions, pledge_id.as_str(), &claims.sub, action)
        .await
        .map_err(ApiError::from)?;
    Ok(Pledge::try_from(p)?)
}
