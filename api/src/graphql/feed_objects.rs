//! The objects a followed feed's events point to (each event's mission with its totals, its
//! pledge and the pledge's backer), loaded once for everything one read (or push) delivers,
//! and only what the subscription selects: a burst of fifty pledges costs four queries, not
//! two hundred, and a subscriber asking what the overlay asks keeps pace with a hot mission.
//! Should a load fail, each event loads its own objects as a query's would.

use super::loaders::MissionLoader;
use super::mission::{Mission, Pledge};
use super::user::User;
use crate::error::ApiError;
use crate::state::AppState;
use async_graphql::Context;
use async_graphql::dataloader::Loader;
use missionlink_entities::missions::{mission_event, pledge};
use missionlink_ledger::mission::totals_of;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;

/// Which of an event's objects a subscription selects.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Wanted {
    mission: bool,
    totals: bool,
    pledge: bool,
    backer: bool,
}

impl Wanted {
    /// What the subscription field at `ctx` selects of each event.
    pub(super) fn of(ctx: &Context<'_>) -> Self {
        let look = ctx.look_ahead();
        let mission = look.field("mission");
        let pledge = look.field("pledge");
        Self {
            mission: mission.exists(),
            totals: mission.field("totalPledged").exists() || mission.field("backerCount").exists(),
            pledge: pledge.exists(),
            backer: pledge.field("backer").exists(),
        }
    }
}

/// The objects of one read's events, by id.
#[derive(Debug, Default)]
pub(crate) struct FeedObjects {
    missions: HashMap<String, Mission>,
    pledges: HashMap<String, Pledge>,
}

impl FeedObjects {
    pub(super) fn mission(&self, id: &str) -> Option<Mission> {
        self.missions.get(id).cloned()
    }

    pub(super) fn pledge(&self, id: &str) -> Option<Pledge> {
        self.pledges.get(id).cloned()
    }
}

/// Loads what `wanted` selects of `events`' objects: at most one query each for the missions,
/// their totals, the pledges and the backers.
pub(super) async fn load(
    app: &AppState,
    wanted: Wanted,
    events: &[mission_event::Model],
) -> Result<FeedObjects, ApiError> {
    let mut objects = FeedObjects::default();
    if wanted.mission {
        // A test event's mission is made up: nothing to load.
        let mut ids: Vec<String> = events
            .iter()
            .filter(|e| e.test_payload.is_none())
            .filter_map(|e| e.mission_id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut totals = if wanted.totals {
            totals_of(&app.db.missions, &ids).await?
        } else {
            HashMap::new()
        };
        // The query a page's `mission` fields batch through.
        let missions = MissionLoader(app.db.missions.clone())
            .load(&ids)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading missions: {e}")))?;
        for m in missions.into_values() {
            let mut found = Mission::try_from(m)?;
            if wanted.totals {
                let known = totals.remove(found.id.as_str()).unwrap_or_default();
                found.totals = Arc::new(tokio::sync::OnceCell::new_with(Some(known)));
            }
            objects.missions.insert(found.id.to_string(), found);
        }
    }
    if wanted.pledge {
        let ids: Vec<&str> = events
            .iter()
            .filter(|e| e.test_payload.is_none())
            .filter_map(|e| e.pledge_id.as_deref())
            .collect();
        if !ids.is_empty() {
            let pledges = pledge::Entity::find()
                .filter(pledge::Column::Id.is_in(ids))
                .all(&app.db.missions)
                .await?;
            let backers = if wanted.backer {
                let ids: Vec<String> = pledges.iter().map(|p| p.backer_id.clone()).collect();
                missionlink_identity::users::by_ids(&app.db.users, &ids).await?
            } else {
                HashMap::new()
            };
            for p in pledges {
                let backer = backers.get(&p.backer_id).cloned();
                let mut found = Pledge::try_from(p)?;
                found.known_backer = backer.map(|u| Arc::new(User::from(u)));
                objects.pledges.insert(found.id.to_string(), found);
            }
        }
    }
    Ok(objects)
}
