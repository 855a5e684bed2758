//! Wake-ups for `missionEvents` subscribers. The events themselves are always read from the
//! database (everything after the subscriber's last `seq`), so a wake-up only says "read
//! again": a lost or doubled one costs a read, never an event. On Postgres every process
//! appending to a feed notifies `missionlink_ledger::events::CHANNEL` with the streamer at
//! commit; on SQLite (one process) any local change announcement wakes every subscriber.
//! Subscribers also read again every [`POLL`], should a notification be lost while the
//! listener reconnects.

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
    /// Any feed may have grown.
    All,
}

impl Wake {
    /// Whether a subscriber to `streamer` should read again.
    pub fn concerns(&self, streamer: &str) -> bool {
        match self {
            Wake::Streamer(s) => &**s == streamer,
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
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let (tx, mut rx) = mpsc::channel::<String>(BUFFER);
                tokio::spawn(crate::feed::listen_postgres(db, events::CHANNEL, tx));
                let wake = sender.clone();
                tokio::spawn(async move {
                    while let Some(streamer) = rx.recv().await {
                        let _ = wake.send(Wake::Streamer(streamer.into()));
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
