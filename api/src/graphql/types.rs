//! GraphQL object types and their conversions from domain values.

use super::money::{Points, Won};
use super::user::User;
use crate::auth::Session;
use crate::error::ApiError;
use async_graphql::SimpleObject;
use missionlink_ledger::wallet;

/// A user's balances (and, for a streamer, where payouts go and the payouts requested).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Wallet {
    /// Spendable won.
    pub cash: Won,
    /// Game points, never convertible to cash.
    pub points: Points,
    /// Won paid out to this user as a streamer.
    pub earnings: Won,
    /// Whose wallet this is (`payoutAccount`, `payouts`).
    #[graphql(skip)]
    pub user_id: String,
}

/// A count as a GraphQL `Int`; one beyond 2^31 − 1 is an error, never truncated.
pub(crate) fn graphql_int(value: i64, what: &str) -> Result<i32, ApiError> {
    i32::try_from(value).map_err(|_| {
        ApiError::Internal(anyhow::anyhow!("{what} {value} does not fit a GraphQL Int"))
    })
}

impl Wallet {
    /// `user_id`'s balances `w`.
    pub fn of(user_id: &str, w: wallet::Wallet) -> Result<Self, ApiError> {
        Ok(Self {
            cash: Won::of(w.cash_won, "cash balance")?,
            points: Points::of(w.points, "points balance")?,
            earnings: Won::of(w.earnings_won, "earnings balance")?,
            user_id: user_id.to_owned(),
        })
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    pub user: User,
}

impl TryFrom<Session> for AuthPayload {
    type Error = ApiError;

    fn try_from(s: Session) -> Result<Self, ApiError> {
        Ok(Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            user: s.user.try_into()?,
        })
    }
}
