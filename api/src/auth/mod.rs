//! Identity: registration, login, refresh-token rotation and access tokens.
//!
//! Everything here lives in the users database, except the one idempotent call that opens a
//! new user's ledger accounts in the missions database.

pub mod active_users;
pub mod input;
pub mod password;
pub mod service;
pub mod throttle;
pub mod tokens;

pub use active_users::ActiveUsers;
pub use service::{AuthService, Session};
pub use tokens::{AccessClaims, TokenKeys};

/// What a user is on the platform. Stored as `VIEWER` / `STREAMER`.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Viewer,
    Streamer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "VIEWER",
            Role::Streamer => "STREAMER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "VIEWER" => Some(Role::Viewer),
            "STREAMER" => Some(Role::Streamer),
            _ => None,
        }
    }
}
