//! The pledge path's per-row checks, made once per statement and without locks (issue 27,
//! item 4), on Postgres. A foreign key is an index probe and a `KEY SHARE` lock on the
//! referenced row for every row inserted: the hot mission's row and its escrow account were
//! locked by every concurrent batch, which Postgres records as a multixact.
//!
//! - `pledges.mission_id`, `mission_events.mission_id` and `.pledge_id` lose their foreign
//!   keys: a pledge's mission is read behind its gate in the same transaction, and an event
//!   names what its own transaction wrote. The audit checks it (`orphan`).
//! - `transfers`' (account, currency) foreign keys become part of `transfers_record_balances`,
//!   now run once per statement over the inserted rows: both accounts exist in the transfer's
//!   currency (points never meet cash, as before), and a materialised account's side records
//!   its balance after. Accounts are never deleted and an account's currency is part of its
//!   id, so the check needs no lock.
//!
//! SQLite keeps its foreign keys and row trigger: one writer at a time, no lock to share.

use crate::run_sql;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        run_sql(
            manager,
            r#"
DO $$
DECLARE c record;
BEGIN
    FOR c IN
        SELECT conrelid::regclass AS t, conname FROM pg_constraint
        WHERE contype = 'f' AND (
            (conrelid = 'pledges'::regclass AND confrelid = 'missions'::regclass)
            OR (conrelid = 'mission_events'::regclass
                AND confrelid IN ('missions'::regclass, 'pledges'::regclass))
            OR (conrelid = 'transfers'::regclass AND confrelid = 'accounts'::regclass))
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname);
    END LOOP;
END
$$;
DROP TRIGGER transfers_record_balances ON transfers;
DROP FUNCTION transfers_record_balances();
CREATE FUNCTION transfers_record_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT n.id, (d.id IS NULL OR c.id IS NULL
                  OR d.currency <> n.currency OR c.currency <> n.currency) AS wrong_accounts
    INTO bad
    FROM inserted n
    LEFT JOIN accounts d ON d.id = n.debit_account_id
    LEFT JOIN accounts c ON c.id = n.credit_account_id
    WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> n.currency OR c.currency <> n.currency
       OR (n.debit_balance_after IS NULL AND d.materialised)
       OR (n.credit_balance_after IS NULL AND c.materialised)
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.wrong_accounts THEN
        RAISE EXCEPTION 'transfer % moves between accounts that are not both in its currency', bad.id
            USING ERRCODE = 'foreign_key_violation';
    ELSE
        RAISE EXCEPTION 'transfer % records no balance after it for a materialised account', bad.id;
    END IF;
END;
$$;
CREATE TRIGGER transfers_record_balances AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION transfers_record_balances();
"#,
        )
        .await
    }
}
