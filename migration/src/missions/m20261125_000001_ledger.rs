//! The double-entry ledger: accounts, immutable transfers, idempotency records.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        run_sql(
            manager,
            &format!(
                r#"
CREATE TABLE accounts (
    -- Readable and deterministic: 'wallet:CASH:<user>', 'world:CASH', 'fee:CASH', ...
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL
                 CHECK (kind IN ('WALLET', 'EARNINGS', 'WORLD', 'FEE', 'ESCROW', 'POOL')),
    -- The user (WALLET, EARNINGS) or mission/prediction (ESCROW, POOL) it belongs to.
    owner_id     TEXT,
    currency     TEXT NOT NULL CHECK (currency IN ('CASH', 'POINTS')),
    -- Materialised balance = credits - debits. Kept current inside every transfer's
    -- transaction for materialised accounts; hot system accounts (the outside world, escrow,
    -- pools) are journal-only and keep 0 here, their balance being summed from transfers.
    balance      BIGINT NOT NULL DEFAULT 0,
    materialised BOOLEAN NOT NULL,
    created_at   {ts} NOT NULL,
    -- Invariant 3: no account but the outside world's may go below zero, enforced here and
    -- not only by the ledger's conditional updates.
    CONSTRAINT accounts_non_negative CHECK (kind = 'WORLD' OR balance >= 0),
    CONSTRAINT accounts_journal_only_zero CHECK (materialised OR balance = 0),
    -- Target of the transfers' (account, currency) foreign keys.
    CONSTRAINT accounts_id_currency UNIQUE (id, currency)
);
CREATE INDEX accounts_owner ON accounts (owner_id);

-- Invariant 2: every movement is one immutable row, from one account to another of the same
-- currency, amount > 0. Invariant 5: the id is deterministic (e.g. 'topup:<user>:<key>'), so a
-- retried step collides with its first run instead of moving money twice.
CREATE TABLE transfers (
    id                TEXT PRIMARY KEY,
    debit_account_id  TEXT NOT NULL,
    credit_account_id TEXT NOT NULL,
    currency          TEXT NOT NULL CHECK (currency IN ('CASH', 'POINTS')),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    kind              TEXT NOT NULL,
    created_at        {ts} NOT NULL,
    CHECK (debit_account_id <> credit_account_id),
    -- Both accounts must hold the transfer's currency: points can never become cash.
    FOREIGN KEY (debit_account_id, currency) REFERENCES accounts (id, currency),
    FOREIGN KEY (credit_account_id, currency) REFERENCES accounts (id, currency)
);
CREATE INDEX transfers_debit ON transfers (debit_account_id);
CREATE INDEX transfers_credit ON transfers (credit_account_id);

-- Invariant 4: one row per (caller, key). The first request claims the key inside the same
-- transaction as its effect; a replay finds the row and returns the stored response.
CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    operation    TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT,
    created_at   {ts} NOT NULL,
    PRIMARY KEY (user_id, key)
);
"#
            ),
        )
        .await?;
        run_sql(manager, immutable_transfers(backend)).await
    }
}

/// Transfers are immutable: the database refuses to update or delete one.
fn immutable_transfers(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            r#"
CREATE FUNCTION transfers_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfers are immutable';
END;
$$;
CREATE TRIGGER transfers_no_update BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_are_immutable();
"#
        }
        _ => {
            r#"
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;
"#
        }
    }
}
