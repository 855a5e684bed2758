//! The wallet statement (issue 14): every transfer gets its place in the journal's one order,
//! `seq`, and the balance each materialised account it touches had right after it
//! (`debit_balance_after`, `credit_balance_after`; NULL on a journal-only side). The ledger
//! takes `seq` after locking the transfer's materialised accounts, so on every account `seq`
//! orders its movements as they were applied and each balance-after follows from the one
//! before. Indexes by (account, kind, seq) page a user's statement, filtered by kind or not, as
//! a handful of index range reads however long the history.
//!
//! Transfers written before this migration are numbered by (created_at, id) and their balances
//! summed in that order; transfers are otherwise immutable, so their guard is lifted for the
//! backfill only.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Numbers the existing transfers and fills in their balances-after (both backends).
const BACKFILL: &str = r#"
UPDATE transfers SET seq = o.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM transfers) o
WHERE o.id = transfers.id;
WITH p AS (
    SELECT id, seq, debit_account_id AS account_id, -amount AS delta, 'D' AS side FROM transfers
    UNION ALL
    SELECT id, seq, credit_account_id AS account_id, amount AS delta, 'C' AS side FROM transfers
), r AS (
    SELECT p.id, p.side,
           SUM(p.delta) OVER (PARTITION BY p.account_id ORDER BY p.seq ROWS UNBOUNDED PRECEDING) AS after
    FROM p JOIN accounts a ON a.id = p.account_id
    WHERE a.materialised
)
UPDATE transfers SET debit_balance_after = r.after FROM r WHERE r.id = transfers.id AND r.side = 'D';
WITH p AS (
    SELECT id, seq, debit_account_id AS account_id, -amount AS delta, 'D' AS side FROM transfers
    UNION ALL
    SELECT id, seq, credit_account_id AS account_id, amount AS delta, 'C' AS side FROM transfers
), r AS (
    SELECT p.id, p.side,
           SUM(p.delta) OVER (PARTITION BY p.account_id ORDER BY p.seq ROWS UNBOUNDED PRECEDING) AS after
    FROM p JOIN accounts a ON a.id = p.account_id
    WHERE a.materialised
)
UPDATE transfers SET credit_balance_after = r.after FROM r WHERE r.id = transfers.id AND r.side = 'C';
"#;

/// The statement's indexes; the (account) indexes they extend go.
const INDEXES: &str = r#"
CREATE UNIQUE INDEX transfers_seq ON transfers (seq);
CREATE INDEX transfers_debit_statement ON transfers (debit_account_id, kind, seq);
CREATE INDEX transfers_credit_statement ON transfers (credit_account_id, kind, seq);
DROP INDEX transfers_debit;
DROP INDEX transfers_credit;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            // The sequence hands out `seq`: no row every transfer would have to lock.
            DatabaseBackend::Postgres => format!(
                r#"
ALTER TABLE transfers ADD COLUMN seq BIGINT, ADD COLUMN debit_balance_after BIGINT,
    ADD COLUMN credit_balance_after BIGINT;
ALTER TABLE transfers DISABLE TRIGGER transfers_no_update;
{BACKFILL}
ALTER TABLE transfers ENABLE TRIGGER transfers_no_update;
CREATE SEQUENCE transfer_seq OWNED BY transfers.seq;
SELECT setval('transfer_seq', (SELECT COALESCE(MAX(seq), 0) + 1 FROM transfers), false);
ALTER TABLE transfers ALTER COLUMN seq SET DEFAULT nextval('transfer_seq'),
    ALTER COLUMN seq SET NOT NULL;
{INDEXES}
"#
            ),
            // SQLite has one writer at a time: the ledger numbers a transfer MAX(seq) + 1 under
            // the write lock its balance update already took.
            _ => format!(
                r#"
ALTER TABLE transfers ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transfers ADD COLUMN debit_balance_after INTEGER;
ALTER TABLE transfers ADD COLUMN credit_balance_after INTEGER;
DROP TRIGGER transfers_no_update;
{BACKFILL}
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;
{INDEXES}
"#
            ),
        };
        run_sql(manager, &sql).await
    }
}
