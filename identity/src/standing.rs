//! Whether the user an access token names may act: the user must exist in the users database,
//! not be suspended, and not have signed out everywhere since the token was issued. A signed
//! token only proves who it was issued to, up to 15 minutes ago; this is checked once per
//! authenticated request, and every `STANDING_CHECK` on a live websocket.
//!
//! Users found are cached for `USER_CACHE_SECONDS`, so a busy user costs the users database one
//! lookup per few seconds, and a deletion or a suspension made elsewhere takes effect within that
//! time ([`ActiveUsers::forget`] makes one made by this process take effect at once). The cache
//! holds the user's row, not a verdict: [`ActiveUsers::standing`] asks
//! [`suspension::suspended`] of the cached row with the current time, so a suspension whose end
//! passes ends on time even while the row is cached.
//! Absent users are not cached: a token for one is refused by a primary-key lookup each time,
//! and a user who registers is never refused because of an earlier miss.

use crate::error::{IdentityError, IdentityResult};
use crate::suspension::{self, Suspension};
use crate::tokens::AccessClaims;
use chrono::{DateTime, Utc};
use missionlink_entities::users::user;
use moka::future::Cache;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::sync::Arc;
use std::time::Duration;

/// Most users remembered at once; beyond it the least recently used are looked up again.
const CAPACITY: u64 = 100_000;

pub struct ActiveUsers {
    db: DatabaseConnection,
    cache: Cache<String, Arc<user::Model>>,
}

/// What a token's user may do now.
#[derive(Debug)]
pub enum Standing {
    /// Exists and is not suspended.
    Active(Arc<user::Model>),
    /// No such user (deleted, or never registered).
    Absent,
    Suspended(Suspension),
    /// The token was issued before the user signed out everywhere (`sessions_valid_after`).
    SignedOut,
}

/// Whether `claims` were issued before `user` last signed out everywhere.
pub fn signed_out(user: &user::Model, claims: &AccessClaims) -> bool {
    claims.epoch < user.session_epoch
}

enum Miss {
    Absent,
    Db(sea_orm::DbErr),
}

impl ActiveUsers {
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Self {
        Self {
            db,
            cache: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Whether the bearer of `claims` may act at `now`: its user exists, is not suspended then,
    /// and has not signed out everywhere since the token was issued.
    pub async fn standing(
        &self,
        claims: &AccessClaims,
        now: DateTime<Utc>,
    ) -> IdentityResult<Standing> {
        Ok(match self.get(&claims.sub).await? {
            None => Standing::Absent,
            Some(user) => match suspension::suspended(&user, now) {
                Some(s) => Standing::Suspended(s),
                None if signed_out(&user, claims) => Standing::SignedOut,
                None => Standing::Active(user),
            },
        })
    }

    /// Drops what is remembered of `id`, so its next request reads the users database: called
    /// by whoever changes the user (a suspension) in this process.
    pub async fn forget(&self, id: &str) {
        self.cache.invalidate(id).await;
    }

    /// The user `id` as remembered (read within the cache's time to live), without reading the
    /// users database.
    pub async fn remembered(&self, id: &str) -> Option<Arc<user::Model>> {
        self.cache.get(id).await
    }

    /// The user `id`, suspended or not; `None` if there is no such user. Concurrent lookups of
    /// one id share one query.
    pub async fn get(&self, id: &str) -> IdentityResult<Option<Arc<user::Model>>> {
        let found = self
            .cache
            .try_get_with(id.to_owned(), async {
                match user::Entity::find_by_id(id.to_owned()).one(&self.db).await {
                    Ok(Some(user)) => Ok(Arc::new(user)),
                    Ok(None) => Err(Miss::Absent),
                    Err(e) => Err(Miss::Db(e)),
                }
            })
            .await;
        match found {
            Ok(user) => Ok(Some(user)),
            Err(miss) => match &*miss {
                Miss::Absent => Ok(None),
                Miss::Db(e) => Err(IdentityError::Internal(anyhow::anyhow!(
                    "looking up user {id}: {e}"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use missionlink_entities::users::{Locale, Role};

    fn user(epoch: i64) -> user::Model {
        user::Model {
            id: "u".into(),
            email: "u@example.com".into(),
            handle: "u".into(),
            handle_key: "u".into(),
            display_name: "u".into(),
            role: Role::Viewer,
            locale: Locale::En,
            password_hash: String::new(),
            created_at: Utc::now(),
            suspended_at: None,
            suspended_until: None,
            session_epoch: epoch,
            sessions_valid_after: None,
            email_verified_at: None,
            notify_accepted: true,
            notify_verifying: true,
        }
    }

    fn claims(epoch: i64) -> AccessClaims {
        AccessClaims {
            sub: "u".into(),
            role: Role::Viewer,
            iat: 1_700_000_000,
            exp: 1_700_000_900,
            epoch,
        }
    }

    #[test]
    fn a_token_from_an_older_epoch_is_signed_out() {
        assert!(!signed_out(&user(0), &claims(0)), "never signed out");
        assert!(signed_out(&user(1), &claims(0)));
        assert!(!signed_out(&user(1), &claims(1)));
        assert!(signed_out(&user(7), &claims(6)));
    }
}
