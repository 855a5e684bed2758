//! Two rules the audit and `outflows` rely on, now held by the database too: an account is
//! materialised exactly when its kind keeps a balance (every kind but the outside world,
//! escrows and pools), and a transfer's kind is one the ledger knows. Postgres takes them as
//! CHECK constraints; SQLite cannot add a constraint to an existing table, so there triggers
//! refuse the same rows.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An account row keeps a balance exactly when its kind does (`row` prefixes the columns:
/// `NEW.` in a trigger).
fn materialised_by_kind(row: &str) -> String {
    format!("{row}materialised = ({row}kind NOT IN ('WORLD', 'ESCROW', 'POOL'))")
}

/// The kinds of movement the ledger makes.
fn known_transfer_kind(row: &str) -> String {
    format!(
        "{row}kind IN ('SIGNUP_GRANT', 'TOPUP', 'PLEDGE', 'PAYOUT', 'FEE', 'REFUND', 'BET', \
         'BET_PAYOUT', 'BET_REFUND')"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => format!(
                "ALTER TABLE accounts ADD CONSTRAINT accounts_materialised_by_kind \
                   CHECK ({}); \
                 ALTER TABLE transfers ADD CONSTRAINT transfers_known_kind \
                   CHECK ({});",
                materialised_by_kind(""),
                known_transfer_kind("")
            ),
            _ => format!(
                "CREATE TRIGGER accounts_materialised_by_kind_insert BEFORE INSERT ON accounts \
                   WHEN NOT ({materialised}) \
                   BEGIN SELECT RAISE(ABORT, 'accounts_materialised_by_kind'); END; \
                 CREATE TRIGGER accounts_materialised_by_kind_update \
                   BEFORE UPDATE OF kind, materialised ON accounts \
                   WHEN NOT ({materialised}) \
                   BEGIN SELECT RAISE(ABORT, 'accounts_materialised_by_kind'); END; \
                 CREATE TRIGGER transfers_known_kind BEFORE INSERT ON transfers \
                   WHEN NOT ({known}) \
                   BEGIN SELECT RAISE(ABORT, 'transfers_known_kind'); END;",
                materialised = materialised_by_kind("NEW."),
                known = known_transfer_kind("NEW.")
            ),
        };
        run_sql(manager, &sql).await
    }
}
