//! The wallet statement (issue 14): every transfer gets its place in the journal's one order,
//! `seq`, and the balance each materialised account it touches had right after it
//! (`debit_balance_after`, `credit_balance_after`; NULL on a journal-only side). The ledger
//! takes `seq` after locking the transfer's materialised accounts, so on every account `seq`
//! orders its movements as they were applied and each balance-after follows from the one
//! before. Indexes by (account, kind, seq) page a user's statement, filtered by kind or not, as
//! a handful of index range reads however long the history.
//!
//! Transfers written before this migration are numbered by time (incoming before spending at
//! one instant, then by id) and their balances summed in that order; transfers are otherwise
//! immutable, so their guard is lifted for the backfill only. From here on the database refuses
//! a transfer whose materialised side records no balance after it.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Numbers the existing transfers and fills in their balances-after, in one pass over the
/// table (both backends). Transfers of one instant come incoming first: a row that debits a
/// materialised account (money spent) after one that does not, so a wallet's replayed history
/// does not dip below zero on a tie.
const BACKFILL: &str = r#"
WITH o AS (
    SELECT t.id, ROW_NUMBER() OVER (
        ORDER BY t.created_at,
                 CASE WHEN d.materialised THEN 1 ELSE 0 END,
                 t.id) AS n
    FROM transfers t JOIN accounts d ON d.id = t.debit_account_id
), p AS (
    SELECT t.id, o.n, t.debit_account_id AS account_id, -t.amount AS delta, 'D' AS side
    FROM transfers t JOIN o ON o.id = t.id
    UNION ALL
    SELECT t.id, o.n, t.credit_account_id AS account_id, t.amount AS delta, 'C' AS side
    FROM transfers t JOIN o ON o.id = t.id
), r AS (
    SELECT p.id, p.side,
           SUM(p.delta) OVER (PARTITION BY p.account_id ORDER BY p.n ROWS UNBOUNDED PRECEDING) AS after
    FROM p JOIN accounts a ON a.id = p.account_id
    WHERE a.materialised
), x AS (
    SELECT o.id, o.n,
           MAX(CASE WHEN r.side = 'D' THEN r.after END) AS debit_after,
           MAX(CASE WHEN r.side = 'C' THEN r.after END) AS credit_after
    FROM o LEFT JOIN r ON r.id = o.id
    GROUP BY o.id, o.n
)
UPDATE transfers SET seq = x.n, debit_balance_after = x.debit_after,
    credit_balance_after = x.credit_after
FROM x WHERE x.id = transfers.id;
"#;

/// A materialised side must record its balance after: the database refuses a transfer that
/// does not, so a binary from before this migration (still running during a rolling deploy)
/// fails its write, and its caller retries on a new one, instead of leaving a hole in a
/// statement that transfers' immutability would keep for ever. `row` prefixes the columns.
fn records_balances(row: &str) -> String {
    format!(
        "({row}debit_balance_after IS NULL \
           AND (SELECT materialised FROM accounts WHERE id = {row}debit_account_id)) \
         OR ({row}credit_balance_after IS NULL \
           AND (SELECT materialised FROM accounts WHERE id = {row}credit_account_id))"
    )
}

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
CREATE FUNCTION transfers_record_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {guard} THEN
        RAISE EXCEPTION 'transfer % records no balance after it for a materialised account', NEW.id;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER transfers_record_balances BEFORE INSERT ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_record_balances();
"#,
                guard = records_balances("NEW.")
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
CREATE TRIGGER transfers_record_balances BEFORE INSERT ON transfers
WHEN {guard}
BEGIN SELECT RAISE(ABORT, 'transfers_record_balances'); END;
"#,
                guard = records_balances("NEW.")
            ),
        };
        run_sql(manager, &sql).await
    }
}
