//! Whether the user an access token names may act: the user must exist (and, once suspension
//! exists, be active) in the users database. A signed token only proves who it was issued to, up
//! to 15 minutes ago; this is checked once per authenticated request.
//!
//! Users found are cached for `USER_CACHE_SECONDS`, so a busy user costs the users database one
//! lookup per few seconds, and a deletion (later, a suspension) takes effect within that time.
//! Absent users are not cached: a token for one is refused by a primary-key lookup each time,
//! and a user who registers is never refused because of an earlier miss.

use crate::error::{ApiError, ApiResult};
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

    /// The user `id` if it may act now; `None` if there is no such user. Concurrent lookups of
    /// one id share one query.
    pub async fn get(&self, id: &str) -> ApiResult<Option<Arc<user::Model>>> {
        let found = self
            .cache
            .try_get_with(id.to_owned(), async {
                // A suspension check belongs here, next to existence, once users can be
                // suspended.
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
                Miss::Db(e) => Err(ApiError::Internal(anyhow::anyhow!(
                    "looking up user {id}: {e}"
                ))),
            },
        }
    }
}
