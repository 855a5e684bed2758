//! MissionLink's identity: the owner of the users database, as `missionlink-ledger` owns the
//! missions database. Registration, login, refresh-token rotation and access tokens
//! ([`Accounts`]); who may act now ([`ActiveUsers`]); operators (created from the command line);
//! suspension ([`suspension`], and [`suspend`], the one sequence across both databases);
//! streamers' overlay tokens ([`overlay`]); verified streamers ([`streamers`]: applications, an
//! operator's decision, channels linked through a platform's OAuth API, [`channels`]); verified
//! people ([`persons`]: 본인인증 through an identity provider, one account per person, the key
//! the daily top-up limit counts by); and every read of a user by another part of the system
//! ([`users`]: the API's loaders, the worker's email recipients).
//!
//! Nothing outside this crate reads or writes the users database. The one write into the
//! missions database from here goes through the ledger (a new user's wallet; a suspension's
//! and a streamer application's records). The calls out are a platform's OAuth API
//! ([`channels`]), to verify a channel, and an identity provider ([`persons`]), to verify a
//! person; of the person only a keyed hash of the CI, the name and the birth date are kept.

pub mod account_mail;
pub mod accounts;
pub mod channels;
pub mod codes;
pub mod error;
pub mod input;
pub mod operators;
pub mod overlay;
pub mod overlay_settings;
pub mod password;
pub mod persons;
pub mod profile;
pub mod reserved;
pub mod reset;
pub mod sessions;
pub mod standing;
pub mod streamers;
pub mod suspend;
pub mod suspension;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod verification;

pub use accounts::{Accounts, Registration, Session, Settings};
pub use error::{IdentityError, IdentityResult};
pub use missionlink_entities::users::user::Model as User;
pub use missionlink_entities::users::{
    AccountEmailKind, ApplicationStatus, CodePurpose, IdentityProvider, Locale, Platform, Role,
    Verification,
};
pub use standing::{ActiveUsers, Standing};
pub use tokens::{AccessClaims, TokenKeys};
pub use users::Recipient;
