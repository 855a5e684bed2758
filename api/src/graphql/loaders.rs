//! Batched loads of the objects other objects point to: a mission's `streamer` and `creator`,
//! a pledge's `backer` and `mission`, a bet's `mission`, and a page of missions' totals. The loaders hold no cache: they batch
//! the loads of one moment and never serve a stale row.

use super::mission::Mission;
use super::user::User;
use crate::error::ApiError;
use crate::state::AppState;
use async_graphql::ID;
use async_graphql::dataloader::{DataLoader, Loader};
use missionlink_entities::missions::mission;
use missionlink_entities::users::user;
use missionlink_identity::Role;
use missionlink_ledger::mission::Totals;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;

/// Loads users from the users database by id.
pub struct UserLoader(pub DatabaseConnection);

impl Loader<String> for UserLoader {
    type Value = user::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, user::Model>, Self::Error> {
        missionlink_identity::users::by_ids(&self.0, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Loads missions from the missions database by id.
pub struct MissionLoader(pub DatabaseConnection);

impl Loader<String> for MissionLoader {
    type Value = mission::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, mission::Model>, Self::Error> {
        Ok(mission::Entity::find()
            .filter(mission::Column::Id.is_in(keys.to_vec()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect())
    }
}

/// Loads missions' `totalPledged` and `backerCount`, one query for a whole page of missions.
pub struct TotalsLoader(pub DatabaseConnection);

impl Loader<String> for TotalsLoader {
    type Value = Totals;
    type Error = Arc<missionlink_ledger::LedgerError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Totals>, Self::Error> {
        let mut found = missionlink_ledger::mission::totals_of(&self.0, keys)
            .await
            .map_err(Arc::new)?;
        // A mission without pledges has zero totals, not none.
        for key in keys {
            found.entry(key.clone()).or_default();
        }
        Ok(found)
    }
}

/// The schema's loaders, for `Schema::build(..).data(..)`.
pub fn loaders(
    state: &AppState,
) -> (
    DataLoader<UserLoader>,
    DataLoader<MissionLoader>,
    DataLoader<TotalsLoader>,
) {
    (
        DataLoader::new(UserLoader(state.db.users.clone()), tokio::spawn),
        DataLoader::new(MissionLoader(state.db.missions.clone()), tokio::spawn),
        DataLoader::new(TotalsLoader(state.db.missions.clone()), tokio::spawn),
    )
}

/// The user `id`, or — if that user's row is gone — a placeholder with the same id: a mission
/// or pledge stays readable (its user fields are non-null) after its user is deleted.
pub(crate) async fn load_user(
    ctx: &async_graphql::Context<'_>,
    id: &str,
    role: Role,
) -> Result<User, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let found = loader
        .load_one(id.to_owned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading user {id}: {e}")))?;
    match found {
        Some(user) => Ok(User::from(user)),
        None => Ok(deleted_user(id, role)),
    }
}

/// The users `ids`, in that order, in one batched read; a deleted one is a placeholder, as in
/// [`load_user`].
pub(crate) async fn load_users(
    ctx: &async_graphql::Context<'_>,
    ids: &[String],
    role: Role,
) -> Result<Vec<User>, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let found = loader
        .load_many(ids.iter().cloned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading users: {e}")))?;
    ids.iter()
        .map(|id| match found.get(id) {
            Some(user) => Ok(User::from(user.clone())),
            None => Ok(deleted_user(id, role)),
        })
        .collect()
}

/// The mission `id` a pledge or bet belongs to (missions are never deleted).
pub(crate) async fn load_mission(
    ctx: &async_graphql::Context<'_>,
    id: &str,
) -> Result<Mission, ApiError> {
    let loader = ctx.data_unchecked::<DataLoader<MissionLoader>>();
    let found = loader
        .load_one(id.to_owned())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading mission {id}: {e}")))?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("mission {id} is missing")))?;
    Mission::try_from(found)
}

/// Handle of the placeholder shown for a user who no longer exists; no real handle can be it
/// (handles are letters, digits and underscores).
pub const DELETED_USER_HANDLE: &str = "deleted-user";

fn deleted_user(id: &str, role: Role) -> User {
    User {
        id: ID(id.to_owned()),
        handle: DELETED_USER_HANDLE.to_owned(),
        display_name: "Deleted user".to_owned(),
        role: role.into(),
    }
}
