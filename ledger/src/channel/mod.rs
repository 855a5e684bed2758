//! A streamer's channel: their settings ([`settings`]), the words refused in what viewers write
//! to them ([`words`]), whether a viewer may propose a mission to them now ([`proposal`]: the
//! settings, blocks, and SOOP's cooldown after a rejection), pledge messages with their
//! moderation ([`messages`]), and the moderators a streamer appoints ([`moderators`]).

pub mod messages;
pub mod moderators;
pub mod proposal;
pub mod settings;
pub mod words;

pub use messages::{Moderation, moderate, note_for};
pub use proposal::{ProposalRules, check_proposal};
pub use settings::{Settings, SettingsUpdate};
