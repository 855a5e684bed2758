//! The platform roles.

/// What a user is on the platform. Stored as `VIEWER` / `STREAMER` / `OPERATOR`.
///
/// `OPERATOR` is never self-assigned: `register` refuses it, and operators are created by
/// `missionlink operator create`. A user's role never changes.
#[derive(
    async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Viewer,
    Streamer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "VIEWER",
            Role::Streamer => "STREAMER",
            Role::Operator => "OPERATOR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "VIEWER" => Some(Role::Viewer),
            "STREAMER" => Some(Role::Streamer),
            "OPERATOR" => Some(Role::Operator),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_as_itself() {
        for role in [Role::Viewer, Role::Streamer, Role::Operator] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("operator"), None);
    }
}
