//! Streamer payouts (issue 14): where a streamer is paid (`payout_accounts`), each request to be
//! paid and its life (`payouts`), the receipt sent at its outcome (`payout_receipts`), and the
//! sandbox bank's own record of what it received (`bank_sandbox_transfers`). Transfers gain the
//! payout kinds: the known-kinds rule of migration 000005 is replaced by one that lists them.

use crate::{Dialect, run_sql};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The kinds of movement the ledger makes, payouts' included.
fn known_transfer_kind(row: &str) -> String {
    format!(
        "{row}kind IN ('SIGNUP_GRANT', 'TOPUP', 'PLEDGE', 'PAYOUT', 'FEE', 'REFUND', 'BET', \
         'BET_PAYOUT', 'BET_REFUND', 'BANK_PAYOUT', 'PAYOUT_FEE', 'BANK_TRANSFER', \
         'PAYOUT_RETURN')"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let ts = Dialect::of(backend)?.timestamp;
        run_sql(
            manager,
            &format!(
                r#"
-- One bank account per streamer. The full number is read only by the payout request (which
-- snapshots it) and the bank step; every answer shows `account_masked`.
CREATE TABLE payout_accounts (
    user_id         TEXT PRIMARY KEY,
    bank_code       TEXT NOT NULL,
    account_number  TEXT NOT NULL,
    account_masked  TEXT NOT NULL,
    holder_name     TEXT NOT NULL,
    updated_at      {ts} NOT NULL
);

-- A request to pay a streamer's earnings out to their bank. The account is a snapshot taken at
-- the request: changing the payout account never redirects a payout already requested.
-- The status changes only by conditional updates (REQUESTED -> PROCESSING -> PAID | FAILED,
-- REQUESTED -> CANCELLED), each in the transaction of its transfers.
CREATE TABLE payouts (
    id                   TEXT PRIMARY KEY,
    streamer_id          TEXT NOT NULL,
    amount               BIGINT NOT NULL CHECK (amount > 0),
    fee                  BIGINT NOT NULL CHECK (fee >= 0 AND fee < amount),
    bank_code            TEXT NOT NULL,
    account_number       TEXT NOT NULL,
    account_masked       TEXT NOT NULL,
    holder_name          TEXT NOT NULL,
    status               TEXT NOT NULL
                         CHECK (status IN ('REQUESTED', 'PROCESSING', 'PAID', 'FAILED', 'CANCELLED')),
    failure_reason       TEXT,
    -- The id the bank knows the transfer by, and its idempotency key there.
    bank_request_id      TEXT NOT NULL UNIQUE,
    requested_at         {ts} NOT NULL,
    -- The workflow submits to the bank no earlier than this (PAYOUT_HOLD_SECONDS).
    hold_until           {ts} NOT NULL,
    processing_at        {ts},
    finished_at          {ts},
    -- Set once the `Payout` workflow is known to be started (by the API or the relay).
    workflow_started_at  {ts},
    CHECK ((status IN ('PAID', 'FAILED', 'CANCELLED')) = (finished_at IS NOT NULL)),
    CHECK (status = 'REQUESTED' OR status = 'CANCELLED' OR processing_at IS NOT NULL)
);
CREATE INDEX payouts_streamer ON payouts (streamer_id, id);
CREATE INDEX payouts_status ON payouts (status, processing_at);
CREATE INDEX payouts_unstarted ON payouts (requested_at) WHERE workflow_started_at IS NULL;

-- The receipt of a payout's outcome (PAID or FAILED), one per payout: recorded once sent, so a
-- retried activity does not send it again (only a crash between the send and this record can).
CREATE TABLE payout_receipts (
    payout_id  TEXT PRIMARY KEY REFERENCES payouts (id),
    outcome    TEXT NOT NULL CHECK (outcome IN ('PAID', 'FAILED')),
    address    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('SENT', 'FAILED')),
    error      TEXT,
    sent_at    {ts} NOT NULL
);

-- The sandbox bank (BANK_PROVIDER=sandbox): what it received, one row per request id, the
-- way a bank keeps its own books. No real bank is connected.
CREATE TABLE bank_sandbox_transfers (
    request_id      TEXT PRIMARY KEY,
    bank_code       TEXT NOT NULL,
    account_number  TEXT NOT NULL,
    holder_name     TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    status          TEXT NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED')),
    failure_reason  TEXT,
    -- How many times it was submitted (a repeat is answered, never paid again).
    submissions     INTEGER NOT NULL,
    received_at     {ts} NOT NULL,
    resolved_at     {ts}
);
"#
            ),
        )
        .await?;
        let kinds = match backend {
            DatabaseBackend::Postgres => format!(
                "ALTER TABLE transfers DROP CONSTRAINT transfers_known_kind; \
                 ALTER TABLE transfers ADD CONSTRAINT transfers_known_kind CHECK ({});",
                known_transfer_kind("")
            ),
            _ => format!(
                "DROP TRIGGER transfers_known_kind; \
                 CREATE TRIGGER transfers_known_kind BEFORE INSERT ON transfers \
                   WHEN NOT ({}) \
                   BEGIN SELECT RAISE(ABORT, 'transfers_known_kind'); END;",
                known_transfer_kind("NEW.")
            ),
        };
        run_sql(manager, &kinds).await
    }
}
