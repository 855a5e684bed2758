//! Schema migrations for MissionLink's two databases, one sea-orm-migration migrator each.
//!
//! The users database holds identity (users, password hashes, refresh-token families, login
//! throttling, overlay tokens); the missions database holds money (accounts, transfers,
//! idempotency records). No table of one ever lives in the other, and no migration here
//! references the other database.
//!
//! The schema is written as plain SQL per backend so that every constraint a money invariant
//! depends on is visible in one place and reviewed as SQL. This crate must never contain data
//! fixes that move money: balances change only through `missionlink-ledger`.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr};
use sea_orm_migration::{MigratorTrait, SchemaManager};

pub mod missions;
mod rebuild;
pub mod users;

pub use sea_orm_migration::MigratorTrait as Migrate;

/// SQL that differs between the two supported backends.
pub(crate) struct Dialect {
    /// Column type for an instant in time.
    pub timestamp: &'static str,
}

impl Dialect {
    pub(crate) fn of(backend: DatabaseBackend) -> Result<Self, DbErr> {
        match backend {
            DatabaseBackend::Postgres => Ok(Self {
                timestamp: "TIMESTAMPTZ",
            }),
            DatabaseBackend::Sqlite => Ok(Self { timestamp: "TEXT" }),
            other => Err(DbErr::Migration(format!(
                "MissionLink supports Postgres and SQLite, not {other:?}"
            ))),
        }
    }
}

/// Postgres SQL dropping every CHECK of `table` whose definition is `LIKE` `pattern`: CHECKs
/// created inline have generated names, so a migration that replaces one finds it by its text.
pub(crate) fn drop_checks_like(table: &str, pattern: &str) -> String {
    format!(
        r#"
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = '{table}'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '{pattern}'
    LOOP
        EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
"#
    )
}

/// Runs a batch of `;`-separated statements on the migration's connection.
pub(crate) async fn run_sql(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

/// Applies every pending migration of both databases.
pub async fn migrate_all(
    users_db: &DatabaseConnection,
    missions_db: &DatabaseConnection,
) -> Result<(), DbErr> {
    users::Migrator::up(users_db, None).await?;
    missions::Migrator::up(missions_db, None).await?;
    Ok(())
}
