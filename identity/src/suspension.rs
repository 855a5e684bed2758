//! Suspending a user (issue 16): the identity side. A suspended user cannot sign in, refresh or
//! act with a token they already hold (`USER_SUSPENDED`, with when it ends).
//!
//! The users row holds the whole state: `suspended_at` (NULL: never suspended, or lifted) and
//! `suspended_until` (NULL while `suspended_at` is set: until lifted). A user is suspended at
//! instant `t` iff `suspended_at IS NOT NULL AND (suspended_until IS NULL OR suspended_until >
//! t)`, so a suspension with an end stops by itself, with no job to lift it. [`suspended`] is
//! that rule, and every check ([`Accounts`](crate::Accounts)'s login and refresh, the
//! per-request check in the API) asks it with the current time, also of a user
//! read from `ActiveUsers`' cache.
//!
//! What a suspension does to money (a streamer's open missions, pending payouts) is not here:
//! the missions database is not this module's.

use crate::error::{IdentityError, IdentityResult};
use chrono::{DateTime, Utc};
use missionlink_entities::users::user;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// A suspension in force: until when (`None`: until an operator lifts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suspension {
    pub until: Option<DateTime<Utc>>,
}

impl From<Suspension> for IdentityError {
    fn from(s: Suspension) -> Self {
        IdentityError::Suspended { until: s.until }
    }
}

/// The suspension `user` is under at `now`, if any.
pub fn suspended(user: &user::Model, now: DateTime<Utc>) -> Option<Suspension> {
    user.suspended_at?;
    match user.suspended_until {
        Some(until) if until <= now => None,
        until => Some(Suspension { until }),
    }
}

/// Suspends `user_id` from now until `until` (`None`: until [`unsuspend`]). Suspending a user who
/// is already suspended replaces the end and keeps when it began, so repeating a call changes
/// nothing. An `until` that is not in the future is `BAD_USER_INPUT` (it would suspend no one).
/// The caller also tells its own `ActiveUsers` to forget the user, so this process refuses the
/// user's live tokens at once; other processes do within `USER_CACHE_SECONDS`.
pub async fn suspend(
    users_db: &DatabaseConnection,
    user_id: &str,
    until: Option<DateTime<Utc>>,
) -> IdentityResult<user::Model> {
    let now = Utc::now();
    if until.is_some_and(|until| until <= now) {
        return Err(IdentityError::invalid(
            "until",
            "a suspension must end in the future (or never: leave `until` empty)",
        ));
    }
    // A suspension in force keeps its start; a lifted or ended one is replaced by one starting
    // now. Two suspensions racing both write a whole, valid state; the later write stands.
    let current = crate::users::get(users_db, user_id).await?;
    let started = match suspended(&current, now) {
        Some(_) => current.suspended_at.unwrap_or(now),
        None => now,
    };
    user::Entity::update_many()
        .col_expr(user::Column::SuspendedAt, Expr::value(started))
        .col_expr(user::Column::SuspendedUntil, Expr::value(until))
        .filter(user::Column::Id.eq(user_id))
        .exec(users_db)
        .await?;
    crate::users::get(users_db, user_id).await
}

/// Lifts `user_id`'s suspension, if any: both columns back to NULL. Idempotent.
pub async fn unsuspend(
    users_db: &DatabaseConnection,
    user_id: &str,
) -> IdentityResult<user::Model> {
    crate::users::get(users_db, user_id).await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::SuspendedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            user::Column::SuspendedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(users_db)
        .await?;
    crate::users::get(users_db, user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn user(at: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> user::Model {
        user::Model {
            id: "u".into(),
            email: "u@example.com".into(),
            handle: "u".into(),
            handle_key: "u".into(),
            display_name: "u".into(),
            role: missionlink_entities::users::Role::Viewer,
            locale: missionlink_entities::users::Locale::En,
            password_hash: String::new(),
            created_at: Utc::now(),
            suspended_at: at,
            suspended_until: until,
            session_epoch: 0,
            sessions_valid_after: None,
            email_verified_at: None,
            notify_accepted: true,
            notify_verifying: true,
        }
    }

    #[test]
    fn a_suspension_holds_from_its_start_until_its_end_or_forever() {
        let now = Utc::now();
        let hour = Duration::hours(1);
        assert_eq!(suspended(&user(None, None), now), None, "never suspended");
        assert_eq!(
            suspended(&user(Some(now - hour), None), now),
            Some(Suspension { until: None }),
            "until lifted"
        );
        assert_eq!(
            suspended(&user(Some(now - hour), Some(now + hour)), now),
            Some(Suspension {
                until: Some(now + hour)
            })
        );
        assert_eq!(
            suspended(&user(Some(now - hour), Some(now)), now),
            None,
            "ends at its end"
        );
        assert_eq!(
            suspended(&user(Some(now - hour), Some(now + hour)), now + hour),
            None,
            "a cached model ends on time too"
        );
    }
}
