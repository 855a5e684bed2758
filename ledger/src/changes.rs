//! "This mission changed" announcements for live subscriptions (`missionChanged`).
//!
//! On Postgres an announcement is `pg_notify('mission_changed', <mission id>)`, which every API
//! replica LISTENs to, whichever process (API or worker) made the change. On SQLite, a
//! single-host default, it goes through an in-process channel shared by the API and the worker
//! of one `missionlink all` process. Announcements are best effort: a lost one delays a live
//! update, it never loses money or state.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use std::sync::OnceLock;
use tokio::sync::broadcast;

/// The Postgres notification channel.
pub const CHANNEL: &str = "mission_changed";

/// Announcements not yet read by a slow in-process listener before the oldest are dropped.
const LOCAL_CAPACITY: usize = 4_096;

/// The in-process channel (SQLite).
pub fn local() -> &'static broadcast::Sender<String> {
    static LOCAL: OnceLock<broadcast::Sender<String>> = OnceLock::new();
    LOCAL.get_or_init(|| broadcast::channel(LOCAL_CAPACITY).0)
}

/// Announces that `mission_id` changed. Call after the change committed.
pub async fn announce(db: &DatabaseConnection, mission_id: &str) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let sent = db
                .execute_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [CHANNEL.into(), mission_id.into()],
                ))
                .await;
            if let Err(e) = sent {
                tracing::warn!(mission_id, error = %e, "could not announce a mission change");
            }
        }
        _ => {
            // No receiver yet is fine: nobody is subscribed.
            let _ = local().send(mission_id.to_owned());
        }
    }
}

/// Announces, inside the transaction `txn` that changes them, that these missions changed
/// (Postgres: NOTIFY is delivered when the transaction commits, and not at all if it rolls
/// back; identical notifications of one transaction are sent once). Elsewhere nothing: call
/// [`announce`] after the commit.
pub async fn announce_in<'a, C: ConnectionTrait>(
    txn: &C,
    mission_ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), sea_orm::DbErr> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let ids: Vec<&str> = mission_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, m) FROM jsonb_array_elements_text($2::jsonb) AS g(m)",
        [
            CHANNEL.into(),
            serde_json::Value::from(ids).to_string().into(),
        ],
    ))
    .await?;
    Ok(())
}
