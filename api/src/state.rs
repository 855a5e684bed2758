//! What every request handler can reach.

use crate::config::Config;
use crate::db::Databases;
use crate::event_feed::EventWakeups;
use crate::feed::MissionFeed;
use missionlink_identity::Accounts;
use missionlink_workflows::TemporalHandle;
use std::sync::Arc;

/// Shared, immutable application state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
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
    pub fn new(config: Config, db: Databases) -> anyhow::Result<Self> {
        let auth = Accounts::new(&config.identity(), db.users.clone(), db.missions.clone());
        let temporal = TemporalHandle::new(
            config.temporal.clone(),
            format!("missionlink-api@{}", std::process::id()),
        );
        let payments = match &config.topups.provider {
            Some(choice) => Some(choice.connect(std::time::Duration::from_secs(
                config.topups.timeout_seconds,
            ))?),
            None => None,
        };
        let webhook_clients = crate::payments::webhook::ClientLimiter::new(
            config.topups.webhook_max_per_client,
            config.topups.webhook_window_seconds,
        );
        Ok(Self(Arc::new(Inner {
            payments,
            webhook_clients,
            feed: MissionFeed::start(db.missions.clone()),
            event_wakeups: EventWakeups::start(db.missions.clone()),
            pledges: missionlink_ledger::batch::PledgeBatcher::start(
                db.missions.clone(),
                config.missions.ledger(),
                config.missions.pledge_batch_workers,
                config.missions.pledge_batch_max,
            ),
            config,
            db,
            auth,
            temporal,
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
