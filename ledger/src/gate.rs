//! The mission's gate (Postgres): a transaction-scoped advisory lock on the mission, held
//! *shared* by pledges and bets and *exclusive* by status transitions. A transition therefore
//! waits for the pledges in flight to commit, and a pledge that starts after the transition
//! reads the new status. Advisory locks live in the lock manager only: thousands of concurrent
//! pledges to one mission share the gate without writing the mission row (a `FOR SHARE` row
//! lock would rewrite the row's lockers on every pledge).
//!
//! On SQLite the single writer already serialises every write, so the shared gate is a no-op.
//! The exclusive gate makes its transaction the writer at once (a write that changes nothing):
//! a transaction that first reads (who may act, what is staked) and only then writes would
//! otherwise read an old snapshot and, if another connection wrote meanwhile, fail its first
//! write with "database is locked" at once, without waiting out the busy timeout.

use crate::LedgerError;
use missionlink_entities::missions::mission;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, Statement};

/// Holds the gate shared until the transaction ends: pledges and bets.
pub(crate) async fn gate_shared<C: ConnectionTrait>(
    txn: &C,
    mission_id: &str,
) -> Result<(), LedgerError> {
    take(
        txn,
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))::text AS locked",
        mission_id,
    )
    .await
}

/// Holds the gate exclusive until the transaction ends: status transitions and moderation.
/// On SQLite: takes the database's write lock now (waiting for it like any write).
pub(crate) async fn gate_exclusive<C: ConnectionTrait>(
    txn: &C,
    mission_id: &str,
) -> Result<(), LedgerError> {
    if txn.get_database_backend() == DatabaseBackend::Sqlite {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "UPDATE missions SET status = status WHERE id = ?",
            [mission_id.into()],
        ))
        .await?;
        return Ok(());
    }
    take(
        txn,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text AS locked",
        mission_id,
    )
    .await
}

async fn take<C: ConnectionTrait>(txn: &C, sql: &str, mission_id: &str) -> Result<(), LedgerError> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    txn.query_one_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        [key(mission_id).into()],
    ))
    .await?;
    Ok(())
}

fn key(mission_id: &str) -> String {
    format!("mission:{mission_id}")
}

/// The mission, behind its gate held shared until the transaction ends.
pub(crate) async fn lock_shared(
    txn: &DatabaseTransaction,
    mission_id: &str,
) -> Result<mission::Model, LedgerError> {
    gate_shared(txn, mission_id).await?;
    mission::Entity::find_by_id(mission_id.to_owned())
        .one(txn)
        .await?
        .ok_or_else(|| LedgerError::NotFound("no such mission".into()))
}
