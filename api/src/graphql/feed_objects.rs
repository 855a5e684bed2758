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
use missionlink_ledger::events::Known;
use missionlink_ledger::mission::{Holdings, outflows_of, totals_of};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Which of an event's objects a subscription selects.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Wanted {
    mission: bool,
    totals: bool,
    /// `totalHeld` or `totalRefunded`: the totals and the escrow's outflows.
    holdings: bool,
    pledge: bool,
    backer: bool,
}

impl Wanted {
    /// What the subscription field at `ctx` selects of each event.
    pub(super) fn of(ctx: &Context<'_>) -> Self {
        let look = ctx.look_ahead();
        let mission = look.field("mission");
        let pledge = look.field("pledge");
        let holdings =
            mission.field("totalHeld").exists() || mission.field("totalRefunded").exists();
        Self {
            mission: mission.exists(),
            totals: holdings
                || mission.field("totalPledged").exists()
                || mission.field("backerCount").exists(),
            holdings,
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

/// Loads what `wanted` selects of `events`' objects: those `known` as their transaction
/// committed them are taken as they are, backers the API remembers (`USER_CACHE_SECONDS`) too,
/// and the rest read with at most one query each for the missions, their totals, the pledges
/// and the backers.
pub(super) async fn load(
    app: &AppState,
    wanted: Wanted,
    events: &[mission_event::Model],
    known: &Known,
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
        for (m, totals) in &known.missions {
            if ids.binary_search(&m.id).is_ok() {
                let mut found = Mission::try_from(m.clone())?;
                found.totals = Arc::new(tokio::sync::OnceCell::new_with(Some(*totals)));
                objects.missions.insert(found.id.to_string(), found);
            }
        }
        let all = ids.clone();
        ids.retain(|id| !objects.missions.contains_key(id));
        load_missions(app, wanted, &ids, &mut objects).await?;
        if wanted.holdings {
            // Every mission's outflows in one query: each would otherwise read its own.
            let ids: Vec<&str> = all.iter().map(String::as_str).collect();
            let mut out = outflows_of(&app.db.missions, &ids).await?;
            for m in objects.missions.values_mut() {
                if let Some(totals) = m.totals.get().copied() {
                    let held = Holdings::of(
                        totals.total_won,
                        out.remove(m.id.as_str()).unwrap_or_default(),
                    );
                    m.holdings = Arc::new(tokio::sync::OnceCell::new_with(Some(held)));
                }
            }
        }
    }
    if wanted.pledge {
        let pushed: HashMap<&str, &pledge::Model> =
            known.pledges.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut pledges: Vec<pledge::Model> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for id in events
            .iter()
            .filter(|e| e.test_payload.is_none())
            .filter_map(|e| e.pledge_id.as_deref())
        {
            match pushed.get(id) {
                Some(p) => pledges.push((*p).clone()),
                None => unknown.push(id),
            }
        }
        if !unknown.is_empty() {
            pledges.extend(
                pledge::Entity::find()
                    .filter(pledge::Column::Id.is_in(unknown))
                    .all(&app.db.missions)
                    .await?,
            );
        }
        let backers = if wanted.backer {
            backers_of(app, &pledges).await?
        } else {
            HashMap::new()
        };
        for p in pledges {
            let backer = backers.get(&p.backer_id).cloned();
            let mut found = Pledge::try_from(p)?;
            found.known_backer = backer;
            objects.pledges.insert(found.id.to_string(), found);
        }
    }
    Ok(objects)
}

/// The missions `ids` (with their totals if `wanted`), read: one query each.
async fn load_missions(
    app: &AppState,
    wanted: Wanted,
    ids: &[String],
    objects: &mut FeedObjects,
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut totals = if wanted.totals {
        totals_of(&app.db.missions, ids).await?
    } else {
        HashMap::new()
    };
    // The query a page's `mission` fields batch through.
    let missions = MissionLoader(app.db.missions.clone())
        .load(ids)
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
    Ok(())
}

/// The backers of `pledges`: those the API remembers from their own requests (a backer who
/// just pledged usually is), the rest in one query.
async fn backers_of(
    app: &AppState,
    pledges: &[pledge::Model],
) -> Result<HashMap<String, Arc<User>>, ApiError> {
    let mut backers = HashMap::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for p in pledges {
        if !seen.insert(p.backer_id.as_str()) {
            continue;
        }
        match app.auth.active_users.remembered(&p.backer_id).await {
            Some(u) => {
                backers.insert(p.backer_id.clone(), Arc::new(User::from((*u).clone())));
            }
            None => unknown.push(p.backer_id.clone()),
        }
    }
    for (id, u) in missionlink_identity::users::by_ids(&app.db.users, &unknown).await? {
        backers.insert(id, Arc::new(User::from(u)));
    }
    Ok(backers)
}
