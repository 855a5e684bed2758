//! Batched loads of the objects other objects point to: a mission's `streamer` and `creator`,
//! a pledge's `backer` and `mission`, a bet's `mission`, a page of missions' totals, and users'
//! verified channels. The loaders hold no cache: they batch
//! the loads of one moment and never serve a stale row.

use crate::state::AppState;
use async_graphql::dataloader::{DataLoader, Loader};
use missionlink_entities::missions::mission;
use missionlink_identity::User;
use missionlink_ledger::mission::Totals;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;

/// Loads users from the users database by id.
pub struct UserLoader(pub DatabaseConnection);

impl Loader<String> for UserLoader {
    type Value = User;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, User>, Self::Error> {
        missionlink_identity::users::by_ids(&self.0, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Loads streamers' verified channels by user id (through identity, the users database's owner).
pub struct ChannelLoader(pub DatabaseConnection);

impl Loader<String> for ChannelLoader {
    type Value = missionlink_identity::streamers::Channel;
    type Error = Arc<anyhow::Error>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        missionlink_identity::streamers::channels_of(&self.0, keys)
            .await
            .map_err(|e| Arc::new(anyhow::anyhow!("loading verified channels: {e:?}")))
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
    DataLoader<ChannelLoader>,
) {
    (
        DataLoader::new(UserLoader(state.db.users.clone()), tokio::spawn),
        DataLoader::new(MissionLoader(state.db.missions.clone()), tokio::spawn),
        DataLoader::new(TotalsLoader(state.db.missions.clone()), tokio::spawn),
        DataLoader::new(ChannelLoader(state.db.users.clone()), tokio::spawn),
    )
}
