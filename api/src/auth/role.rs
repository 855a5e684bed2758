//! The platform roles.

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
