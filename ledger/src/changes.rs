//! "This mission changed" announcements for live subscriptions (`missionChanged`), made by the
//! ledger transaction that makes the change ([`commit`]), never by its callers.
//!
//! On Postgres an announcement is `pg_notify('mission_changed', <mission id>)` inside that
//! transaction, delivered at its commit (and not at all on a rollback) to every API replica
//! that LISTENs, whichever process (API or worker) made the change. On SQLite, a single-host
//! default, it goes through an in-process channel shared by the API and the worker of one
//! `missionlink all` process, right after the commit. Announcements are best effort: a lost one
//! delays a live update, it never loses money or state.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement};
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

/// Announces, inside the transaction `txn` that changes them, that these missions changed
/// (Postgres: NOTIFY is delivered when the transaction commits, and not at all if it rolls
/// back; identical notifications of one transaction are sent once). Elsewhere nothing: call
/// [`committed`] after the commit. [`commit`] does both.
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

/// After the commit of a transaction on `backend` that changed `mission_ids` and called
/// [`announce_in`]: announces them through the in-process channel (not Postgres, whose
/// notifications the commit delivered).
pub fn committed<'a>(backend: DatabaseBackend, mission_ids: impl IntoIterator<Item = &'a str>) {
    if backend == DatabaseBackend::Postgres {
        return;
    }
    for mission_id in mission_ids {
        // No receiver yet is fine: nobody is subscribed.
        let _ = local().send(mission_id.to_owned());
    }
}

/// Commits `txn`, the transaction that changed `mission_ids` (none: nothing to announce), and
/// announces the change: [`announce_in`], the commit, then [`committed`].
pub async fn commit<'a>(
    txn: DatabaseTransaction,
    mission_ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), sea_orm::DbErr> {
    let ids: Vec<&str> = mission_ids.into_iter().collect();
    let backend = txn.get_database_backend();
    announce_in(&txn, ids.iter().copied()).await?;
    txn.commit().await?;
    committed(backend, ids);
    Ok(())
}
