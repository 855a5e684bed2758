//! A streamer's verified channel in GraphQL (`User.verifiedChannel`, public): a leaf, read by
//! `User` and the streamer applications.

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use missionlink_identity::streamers::Channel;

/// A streaming platform.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_identity::Platform")]
pub enum StreamerPlatform {
    /// NAVER's CHZZK (치지직): `linkChannel` verifies a channel at once through its OAuth API.
    Chzzk,
    /// SOOP (formerly AfreecaTV).
    Soop,
    Twitch,
}

/// How a streamer's channel was verified.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "missionlink_identity::Verification")]
pub enum ChannelVerification {
    /// An operator approved the streamer's application (`approveStreamer`).
    Operator,
    /// The platform's OAuth API vouched for it (`linkChannel`).
    Oauth,
    /// The account was a streamer before channels were verified: verified by migration, with
    /// no channel known (`platform`, `channelId`, `name` and `url` are null) until it links one.
    Migration,
}

/// The channel a streamer was verified as the owner of. Public: show it wherever the streamer
/// is shown, so viewers know whom they back.
#[derive(SimpleObject, Clone, Debug)]
pub struct VerifiedChannel {
    pub platform: Option<StreamerPlatform>,
    /// The channel's id on its platform (a CHZZK channel id, a SOOP id, a Twitch login).
    pub channel_id: Option<String>,
    /// The channel's name: as the platform said it (`OAUTH`), else its id.
    pub name: Option<String>,
    /// The channel's page.
    pub url: Option<String>,
    pub verified_at: DateTime<Utc>,
    pub verified_by: ChannelVerification,
}

impl From<Channel> for VerifiedChannel {
    fn from(c: Channel) -> Self {
        Self {
            platform: c.platform.map(Into::into),
            channel_id: c.channel_id,
            name: c.name,
            url: c.url,
            verified_at: c.verified_at,
            verified_by: c.verified_via.into(),
        }
    }
}
