//! The live feed behind `missionChanged`: every change announced by any process (see
//! `missionlink_ledger::changes`) becomes the mission's new state, broadcast to this process's
//! subscribers.
//!
//! Announcements are coalesced: ids collect for [`COALESCE_WINDOW`] and each changed mission is
//! read and broadcast once per window, so a mission taking a thousand pledges a second costs
//! subscribers a few updates a second, not a thousand.

use missionlink_entities::missions::mission;
use missionlink_ledger::changes;
use sea_orm::{ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How long announcements collect before the changed missions are read and sent.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(200);
/// Updates a slow subscriber may fall behind before it skips to the newest.
const SUBSCRIBER_BUFFER: usize = 1_024;
/// Most missions read per window; more wait for the next one.
const MAX_PER_WINDOW: usize = 1_000;
/// Announcements passed from the listener to the publisher not yet taken.
const ID_QUEUE: usize = 4_096;
/// Most distinct changed missions waiting for a window. Beyond it the publisher stops taking
/// announcements, the queue fills and the listener waits (Postgres keeps the notifications), so
/// memory stays bounded and nothing is dropped.
const MAX_PENDING: usize = 100_000;

/// A handle to subscribe to mission changes.
#[derive(Clone)]
pub struct MissionFeed {
    sender: broadcast::Sender<mission::Model>,
}

impl MissionFeed {
    /// Starts listening (Postgres LISTEN, or the in-process channel on SQLite) in the
    /// background. Must run inside a Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        let (ids_tx, ids_rx) = mpsc::channel::<String>(ID_QUEUE);
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                tokio::spawn(listen_postgres(db.clone(), changes::CHANNEL, ids_tx));
            }
            _ => {
                tokio::spawn(listen_local(ids_tx));
            }
        }
        tokio::spawn(publish(db, ids_rx, sender.clone()));
        Self { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<mission::Model> {
        self.sender.subscribe()
    }
}

/// Passes every notification on the Postgres `channel` to `payloads`, reconnecting when the
/// listening connection is lost, until `payloads` is closed.
pub(crate) async fn listen_postgres(
    db: DatabaseConnection,
    channel: &'static str,
    payloads: mpsc::Sender<String>,
) {
    let ids = payloads;
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        let result: Result<(), sea_orm::sqlx::Error> = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(channel).await?;
            loop {
                let n = listener.recv().await?;
                if ids.send(n.payload().to_owned()).await.is_err() {
                    return Ok(());
                }
            }
        }
        .await;
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(channel, error = %e, "lost the Postgres listener; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn listen_local(ids: mpsc::Sender<String>) {
    let mut rx = changes::local().subscribe();
    loop {
        match rx.recv().await {
            Ok(id) => {
                if ids.send(id).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(skipped = n, "mission feed fell behind");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn publish(
    db: DatabaseConnection,
    mut ids: mpsc::Receiver<String>,
    sender: broadcast::Sender<mission::Model>,
) {
    let mut pending: HashSet<String> = HashSet::new();
    let mut tick = tokio::time::interval(COALESCE_WINDOW);
    loop {
        tokio::select! {
            id = ids.recv(), if pending.len() < MAX_PENDING => match id {
                Some(id) => { pending.insert(id); }
                None => return,
            },
            _ = tick.tick() => {
                if pending.is_empty() || sender.receiver_count() == 0 {
                    pending.clear();
                    continue;
                }
                let batch: Vec<String> = pending.iter().take(MAX_PER_WINDOW).cloned().collect();
                for id in &batch {
                    pending.remove(id);
                }
                match mission::Entity::find().filter(mission::Column::Id.is_in(batch)).all(&db).await {
                    Ok(missions) => {
                        for m in missions {
                            let _ = sender.send(m);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "mission feed could not read missions"),
                }
            }
        }
    }
}
