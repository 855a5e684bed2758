//! Wake-ups for `missionEvents` subscribers. The database is the source of truth: a wake-up
//! says "read again" (everything after the subscriber's last `seq`), so a lost or doubled one
//! costs a read, never an event. Events this process just committed are pushed with their
//! rows ([`Wake::Events`]): a subscriber whose next `seq` is the first of them takes them as
//! they are, and reads the gap from the database otherwise. On Postgres every process
//! notifies `missionlink_ledger::events::CHANNEL` with the streamer after it appends (a pledge
//! batch after its commit, naming itself, so its own listener skips what it was pushed); on
//! SQLite (one process) any local change announcement wakes every subscriber. Subscribers also
//! read again every [`POLL`], should a notification be lost (a listener reconnecting, a
//! process stopping between a commit and its notification).

use missionlink_ledger::events::Appended;
use missionlink_ledger::{changes, events};
use sea_orm::{DatabaseBackend, DatabaseConnection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How often a subscriber reads its feed again without being woken.
pub const POLL: Duration = Duration::from_secs(2);
/// Wake-ups a slow subscriber may miss before it is simply told to read again.
const BUFFER: usize = 1_024;

/// What to read again.
#[derive(Clone, Debug)]
pub enum Wake {
    /// This streamer's feed grew.
    Streamer(Arc<str>),
    /// This process committed these events of one streamer's feed, in `seq` order.
    Events(Arc<Appended>),
    /// Any feed may have grown.
    All,
}

impl Wake {
    /// Whether a subscriber to `streamer` should read again.
    pub fn concerns(&self, streamer: &str) -> bool {
        match self {
            Wake::Streamer(s) => &**s == streamer,
            Wake::Events(a) => a.streamer_id == streamer,
            Wake::All => true,
        }
    }
}

/// A handle to subscribe to wake-ups; cheap to clone.
#[derive(Clone)]
pub struct EventWakeups {
    sender: broadcast::Sender<Wake>,
}

impl EventWakeups {
    /// Starts listening in the background. Must run inside a Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        let mut pushed = events::local_committed().subscribe();
        let wake = sender.clone();
        tokio::spawn(async move {
            loop {
                match pushed.recv().await {
                    Ok(appended) => {
                        let _ = wake.send(Wake::Events(appended));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = wake.send(Wake::All);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let (tx, mut rx) = mpsc::channel::<String>(BUFFER);
                tokio::spawn(crate::feed::listen_postgres(db, events::CHANNEL, tx));
                let wake = sender.clone();
                tokio::spawn(async move {
                    while let Some(payload) = rx.recv().await {
                        if let Some(streamer) = events::notified_streamer(&payload) {
                            let _ = wake.send(Wake::Streamer(streamer.into()));
                        }
                    }
                });
            }
            _ => {
                let mut local = changes::local().subscribe();
                let wake = sender.clone();
                tokio::spawn(async move {
                    loop {
                        match local.recv().await {
                            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                                let _ = wake.send(Wake::All);
                            }
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                });
            }
        }
        Self { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.sender.subscribe()
    }
}
