//! A pledge in GraphQL: its amount and status, its backer (a placeholder for an anonymous
//! pledge, but to its backer), its mission, and its message as moderation lets each reader see
//! it.

use super::context::{Caller, state};
use super::mission::Mission;
use super::mission::load_mission;
use super::money::Won;
use super::status::{MessageStatus, PledgeStatus};
use super::user::User;
use super::user::load_user;
use crate::error::{ApiError, GqlResult};
use async_graphql::{ComplexObject, Context, ID, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_entities::missions::pledge;
use missionlink_identity::Role;
use missionlink_ledger::channel::moderators;
use missionlink_ledger::status::MessageStatus as StoredStatus;

/// Id and handle of the placeholder shown as an anonymous pledge's backer; no real user has
/// them: users' ids are UUIDs, and the handle is reserved (`missionlink_identity::reserved`).
pub const ANONYMOUS_BACKER: &str = "anonymous";

/// One backer's pledge to a mission.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Pledge {
    pub id: ID,
    pub amount: Won,
    pub status: PledgeStatus,
    pub created_at: DateTime<Utc>,
    /// When it was paid to the streamer or refunded to its backer; null while HELD.
    pub settled_at: Option<DateTime<Utc>>,
    /// Shown without its backer: `backer` is a placeholder for everyone but the backer.
    pub anonymous: bool,
    #[graphql(skip)]
    pub backer_id: String,
    #[graphql(skip)]
    pub mission_id: String,
    #[graphql(skip)]
    pub stored_message: Option<String>,
    #[graphql(skip)]
    pub stored_status: Option<StoredStatus>,
    /// The backer, when loaded with others (a followed feed's); otherwise read when asked.
    #[graphql(skip)]
    pub known_backer: Option<std::sync::Arc<User>>,
    /// Its mission, when it is not a stored one (a test event's).
    #[graphql(skip)]
    pub known_mission: Option<std::sync::Arc<Mission>>,
}

impl TryFrom<pledge::Model> for Pledge {
    type Error = ApiError;

    fn try_from(p: pledge::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: ID(p.id),
            amount: Won::of(p.amount, "pledge amount")?,
            status: p.status.into(),
            created_at: p.created_at,
            settled_at: p.settled_at,
            anonymous: p.anonymous,
            backer_id: p.backer_id,
            mission_id: p.mission_id,
            stored_message: p.message,
            stored_status: p.message_status,
            known_backer: None,
            known_mission: None,
        })
    }
}

impl Pledge {
    fn caller_is_backer(&self, ctx: &Context<'_>) -> bool {
        matches!(ctx.data_opt::<Caller>(), Some(Caller::User(c)) if c.sub == self.backer_id)
    }

    /// Whether the caller sees this pledge's message before approval (or once hidden): its
    /// backer, the mission's streamer and their moderators.
    async fn caller_sees_unapproved(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        let Some(Caller::User(c)) = ctx.data_opt::<Caller>() else {
            return Ok(false);
        };
        if c.sub == self.backer_id {
            return Ok(true);
        }
        let streamer = match &self.known_mission {
            Some(known) => known.streamer_id.clone(),
            None => load_mission(ctx, &self.mission_id).await?.streamer_id,
        };
        if streamer == c.sub {
            return Ok(true);
        }
        Ok(moderators::is_moderator(&state(ctx).db.missions, &streamer, &c.sub).await?)
    }
}

#[ComplexObject]
impl Pledge {
    /// Who pledged; for an anonymous pledge, a placeholder to everyone but the backer. A client
    /// tells the placeholder by its `id`, `anonymous`, which is never a user's id (users' ids
    /// are UUIDs); its handle `anonymous` is reserved, so no new account can take it.
    async fn backer(&self, ctx: &Context<'_>) -> GqlResult<User> {
        if self.anonymous && !self.caller_is_backer(ctx) {
            return Ok(User::placeholder(
                ANONYMOUS_BACKER,
                ANONYMOUS_BACKER,
                "Anonymous",
                Role::Viewer,
            ));
        }
        if let Some(known) = &self.known_backer {
            return Ok((**known).clone());
        }
        Ok(load_user(ctx, &self.backer_id, Role::Viewer).await?)
    }

    /// The mission this pledge backs.
    async fn mission(&self, ctx: &Context<'_>) -> GqlResult<Mission> {
        if let Some(known) = &self.known_mission {
            return Ok((**known).clone());
        }
        Ok(load_mission(ctx, &self.mission_id).await?)
    }

    /// The backer's message: to everyone once approved; before that (or once hidden), only to
    /// the backer, the mission's streamer and their moderators.
    async fn message(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        let shown = match self.stored_status {
            None => return Ok(None),
            Some(StoredStatus::Approved) => true,
            Some(_) => self.caller_sees_unapproved(ctx).await?,
        };
        Ok(shown.then(|| self.stored_message.clone()).flatten())
    }

    /// Where the message is in moderation, for the backer, the mission's streamer and their
    /// moderators (null to others, and when there is no message).
    async fn message_status(&self, ctx: &Context<'_>) -> GqlResult<Option<MessageStatus>> {
        let Some(status) = self.stored_status else {
            return Ok(None);
        };
        Ok(self
            .caller_sees_unapproved(ctx)
            .await?
            .then_some(status.into()))
    }
}
