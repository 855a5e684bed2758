//! What every request handler can reach.

use crate::db::Databases;
use crate::event_feed::EventWakeups;
use crate::feed::MissionFeed;
use crate::settings::Settings;
use missionlink_identity::Accounts;
use missionlink_workflows::TemporalHandle;
use std::sync::Arc;

/// Shared, immutable application state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// What the API reads of the configuration.
    pub settings: Settings,
    pub db: Databases,
    pub auth: Accounts,
    pub temporal: TemporalHandle,
    /// Live mission changes for `missionChanged`.
    pub feed: MissionFeed,
    /// Wake-ups of `missionEvents` subscribers.
    pub event_wakeups: EventWakeups,
    /// The payment provider of top-ups (`PAYMENT_PROVIDER`), if any.
    pub payments: Option<Arc<dyn crate::payments::PaymentProvider>>,
    /// Group commit for `contribute`.
    pub pledges: missionlink_ledger::batch::PledgeBatcher,
    /// The payment webhook's per-client throttle (this process's).
    pub webhook_clients: crate::payments::webhook::ClientLimiter,
}

impl AppState {
    pub fn new(settings: Settings, db: Databases) -> anyhow::Result<Self> {
        let auth = Accounts::new(&settings.identity, db.users.clone(), db.missions.clone())?;
        let temporal = TemporalHandle::new(
            settings.temporal.clone(),
            format!("missionlink-api@{}", std::process::id()),
        );
        let payments = match &settings.topups.provider {
            Some(choice) => Some(choice.connect(std::time::Duration::from_secs(
                settings.topups.timeout_seconds,
            ))?),
            None => None,
        };
        let webhook_clients = crate::payments::webhook::ClientLimiter::new(
            settings.topups.webhook_max_per_client,
            settings.topups.webhook_window_seconds,
        );
        let state = Self(Arc::new(Inner {
            payments,
            webhook_clients,
            feed: MissionFeed::start(db.missions.clone()),
            event_wakeups: EventWakeups::start(db.missions.clone()),
            pledges: missionlink_ledger::batch::PledgeBatcher::start(
                db.missions.clone(),
                settings.missions.rules.clone(),
                settings.missions.pledge_batch_workers,
                settings.missions.pledge_batch_max,
                |size| missionlink_telemetry::metrics().pledge_batch(size),
            ),
            settings,
            db,
            auth,
            temporal,
        }));
        crate::graphql::hand_reached_goals(&state);
        Ok(state)
    }

    /// A handle that does not keep the state alive (for a task that ends with it).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.0)
    }

    /// The state behind `weak`, while it lives.
    pub(crate) fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(Self)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
